"""The recorder: runs inside every Python process of a sandboxed run and writes *claims*.

Imported by `sitecustomize` at interpreter start, before the student's code. It appends one JSON
object per line to the event file named by GRADER_EVENTS (O_APPEND, one small write per event,
so lines of concurrent processes never mix and nothing is buffered when a process is killed).
The grader reads that file after the run and cross-checks it with what it saw from outside.

Kept cheap on purpose: at start it only opens the event file, wraps sys.stdout, sys.stderr,
sys.stdin and sys.excepthook, and registers fork and exit hooks. multiprocessing, concurrent.futures,
threading, logging, random and subprocess are patched by an import hook when (and if) the program
imports them. Every patched function is a module-level name, so pickling across spawn and
forkserver keeps working (pool tasks are wrapped in `_Task`, a picklable module-level class).
Nothing wraps a call that commonly raises in student code (Process.start(), input(), run()), so
the tracebacks a program prints are the ones it would print without the grader.

Must run on the student's interpreter: no import of the `grader` package, Python 3.8+ syntax.

Events (keys): every event has ev, pid, t (time.monotonic()).
  start    role (main|spawn|forkserver|resource_tracker|subprocess|fork|mp), ppid, argv
  proc     a multiprocessing child's own description: name, target, args, kind, method, daemon
  pstart   a parent's record of a Process it started: child, name, target, args, kind, method
  end      code (None when unknown), cpu, out/err (chars written), draws, method/default (main)
  w        a write to stdout (s=0) or stderr (s=1): th (thread number), x (text)
  capped   this process wrote more than the recorded budget on stream s
  log      a logging record a handler emitted: th, level, logger, dest, x, origin
  exc      an exception: where, type, msg, tb, th
  thread / thread_end   th, name, target, kind, daemon
  pool     pool, kind, size, method;  workers  pool, pids
  task / task_end       pool, n, th, fn, args / n, ok, err
  sub      a subprocess the process started: child, args
  input    a read of stdin (input() reads a line): api, prompt, result (eof|line)
  rand     first draw from `random` in this process
  note     something the recorder could not do: what
  full     the event file reached its budget; later events of this process were dropped
"""

from __future__ import annotations

import _thread
import errno
import os
import sys
import time as _time

TYPE_CHECKING = False
if TYPE_CHECKING:  # importing typing would cost milliseconds in every process of every run
    from collections.abc import Callable
    from typing import Any

try:
    from _json import encode_basestring_ascii as _q
except ImportError:  # pragma: no cover - every CPython has the C accelerator
    from json.encoder import py_encode_basestring_ascii as _q

_t = _time.monotonic

# -- per-run settings (from the environment) ------------------------------------------------
_events_path = ""
_run_seed = "0"
_start_method = ""
_out_cap = 1 << 20  # characters of output text recorded per stream per process
_soft = 8 << 20  # event-file size after which output events are dropped
_hard = 12 << 20  # event-file size after which every event is dropped
_allow = 256 << 10  # bytes a process writes before it starts checking the file size

# -- per-process state (reset in a forked child) --------------------------------------------
_fd = -1
_pid = 0
_role = "main"
_identity = "main"
_method_hint: str | None = None
_written = 0
_full = False
_seen = [0, 0]
_draws = 0
_ended = False
_task_seq = 0
_forks = 0
_mp_launching = False
_threads: dict[int, int] = {}
_thread_seq = 0
_in_log: dict[int, list[str]] = {}
_pool_seq = 0
_pool_lists: dict[int, str] = {}
_rand_count = 0
_reprs: Any = None
_reads = 0
_prompt = ""


# -- writing events ---------------------------------------------------------------------------


def _open_events() -> bool:
    global _fd
    try:
        fd = os.open(_events_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except OSError:
        _fd = -1
        return False
    try:  # keep it away from the low descriptors a program is likely to close or reuse
        import fcntl

        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 200)
        os.close(fd)
        fd = high
    except Exception:
        pass
    _fd = fd
    return True


def _write(data: bytes) -> bool:
    try:
        os.write(_fd, data)
        return True
    except OSError as exc:  # the program closed our descriptor: open the file again
        return exc.errno == errno.EBADF and _open_events() and _write_once(data)


def _write_once(data: bytes) -> bool:
    try:
        os.write(_fd, data)
        return True
    except OSError:
        return False


def _emit(line: str, output: bool = False) -> None:
    """Append one event line, within the file budget (the event file is subject to the same
    RLIMIT_FSIZE as the student's files, so it must never reach it)."""
    global _written, _full
    if _fd < 0:
        return
    data = line.encode("ascii", "replace")
    n = len(data)
    if _written + n > _allow:
        try:
            size = os.fstat(_fd).st_size
        except OSError:
            size = 0
        if size + n > (_soft if output else _hard):
            if not _full:
                _full = True
                marker = _ev("full").encode()
                if size + len(marker) <= _hard:
                    _write(marker)
            return
    if _write(data):
        _written += n


def _j(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return _q(v)
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else "null"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_j(x) for x in v) + "]"
    return _q(str(v))


def _ev(_name: str, /, **fields: Any) -> str:
    parts = ['{"ev":"', _name, '","pid":', str(_pid), ',"t":', f"{_t():.6f}"]
    for key, value in fields.items():
        parts.append(f',"{key}":{_j(value)}')
    parts.append("}\n")
    return "".join(parts)


def _thread_no() -> int:
    return _threads.get(_thread.get_ident(), 0)


# -- short descriptions -----------------------------------------------------------------------


def _short(obj: Any, limit: int = 200) -> str:
    global _reprs
    try:
        if _reprs is None:
            import reprlib

            _reprs = reprlib.Repr()
            _reprs.maxstring = 80
            _reprs.maxother = 80
            _reprs.maxlist = _reprs.maxtuple = _reprs.maxdict = _reprs.maxset = 8
        text = _no_address(str(_reprs.repr(obj)))
    except Exception:
        text = f"<{type(obj).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _no_address(text: str) -> str:
    """'<Queue object at 0x7f...>' -> '<Queue object>': addresses differ from run to run."""
    start = text.find(" at 0x")
    while start != -1:
        end = start + 6
        while end < len(text) and text[end] in "0123456789abcdefABCDEF":
            end += 1
        text = text[:start] + text[end:]
        start = text.find(" at 0x", start)
    return text


def _short_args(args: Any, kwargs: Any) -> str:
    parts = [_short(a) for a in (args or ())]
    parts += [f"{k}={_short(v)}" for k, v in (kwargs or {}).items()]
    text = ", ".join(parts)
    return text if len(text) <= 300 else text[:297] + "..."


def _qualname(fn: Any) -> str:
    if fn is None:
        return "None"
    inner = getattr(fn, "func", None)
    if inner is not None and hasattr(fn, "args") and hasattr(fn, "keywords"):
        return f"partial({_qualname(inner)})"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return _short(fn, 80)
    module = getattr(fn, "__module__", None)
    if module in (None, "__main__", "__mp_main__", "builtins"):
        return name
    return f"{module}.{name}"


def _exc_line(exc: BaseException) -> str:
    try:
        msg = str(exc)
    except Exception:
        msg = "<unprintable>"
    return f"{type(exc).__name__}: {msg[:300]}" if msg else type(exc).__name__


def _record_exc(where: str, tp: Any, value: Any, tb: Any) -> None:
    try:
        import traceback

        text = "".join(traceback.format_exception(tp, value, tb))
    except Exception:
        text = ""
    if len(text) > 8000:
        text = text[:1000] + "\n[...]\n" + text[-7000:]
    try:
        msg = str(value)[:1000]
    except Exception:
        msg = "<unprintable>"
    module = getattr(tp, "__module__", "builtins")
    name = getattr(tp, "__qualname__", str(tp))
    tname = name if module in ("builtins", "__main__", "__mp_main__") else f"{module}.{name}"
    _emit(_ev("exc", where=where, type=tname, msg=msg, tb=text, th=_thread_no()))


# -- stdout / stderr / stdin ------------------------------------------------------------------


def _record_write(code: int, s: Any) -> None:
    global _prompt
    if not isinstance(s, str):
        return
    if code == 0:
        nl = s.rfind("\n")
        _prompt = s[nl + 1 :] if nl != -1 else (_prompt + s)[-200:]
    captured = _in_log.get(_thread.get_ident())
    if captured is not None:  # written by a logging handler: recorded as a log line instead
        captured.append(s)
        return
    # What was written is not recorded here: the kernel observer sees every write, and which
    # process made it. Only the count is kept (the end event reports it).
    _seen[code] += len(s)


class _Stream:
    """Stands in for sys.stdout / sys.stderr: writes through, then records what was written."""

    def __init__(self, raw: Any, code: int) -> None:
        self._grader_raw = raw
        self._grader_code = code

    def write(self, s: Any) -> Any:
        n = self._grader_raw.write(s)
        try:  # noqa: SIM105
            _record_write(self._grader_code, s)
        except Exception:
            pass
        return n

    def writelines(self, lines: Any) -> None:
        for s in lines:
            self.write(s)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grader_raw, name)

    def __repr__(self) -> str:
        return repr(self._grader_raw)


class _Stdin:
    """Stands in for sys.stdin and records reads. input() calls readline() on it, so its EOFError
    traceback shows only the program's own frames. The prompt is the unfinished stdout line."""

    def __init__(self, raw: Any) -> None:
        self._grader_raw = raw

    def _grader_read(self, api: str, *args: Any) -> Any:
        data = getattr(self._grader_raw, api)(*args)
        _record_read(api, data)
        return data

    def read(self, *args: Any) -> Any:
        return self._grader_read("read", *args)

    def readline(self, *args: Any) -> Any:
        return self._grader_read("readline", *args)

    def readlines(self, *args: Any) -> Any:
        return self._grader_read("readlines", *args)

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grader_raw, name)

    def __repr__(self) -> str:
        return repr(self._grader_raw)


def _record_read(api: str, data: Any) -> None:
    global _reads
    _reads += 1
    if _reads <= 100:  # a program looping on an empty stdin must not flood the event file
        _emit(_ev("input", api=api, prompt=_prompt[-200:], result="line" if data else "eof"))


def _wrap_stdin() -> None:
    if sys.stdin is not None and not isinstance(sys.stdin, _Stdin):
        sys.stdin = _Stdin(sys.stdin)


def _excepthook(tp: Any, value: Any, tb: Any) -> None:
    try:  # noqa: SIM105
        _record_exc("main" if _role == "main" else "startup", tp, value, tb)
    except Exception:
        pass
    _prev_excepthook(tp, value, tb)


_prev_excepthook: Callable[..., Any] = sys.excepthook


# -- process lifetime -------------------------------------------------------------------------


def _end(code: Any) -> None:
    global _ended
    if _ended:
        return
    _ended = True
    try:
        times = os.times()
        cpu = round(times[0] + times[1], 4)
    except Exception:
        cpu = None
    extra: dict[str, Any] = {}
    if _role == "main":
        extra = _start_methods()
    _emit(_ev("end", code=code, cpu=cpu, out=_seen[0], err=_seen[1], draws=_draws, **extra))


def _start_methods() -> dict[str, Any]:
    ctx_mod = sys.modules.get("multiprocessing.context")
    if ctx_mod is None:
        return {}
    try:
        default = ctx_mod._default_context
        actual = default._actual_context
        return {
            "method": getattr(actual, "_name", None) if actual is not None else None,
            "default": getattr(default._default_context, "_name", None),
        }
    except Exception:
        return {}


def _at_exit() -> None:
    _end(None)


def _before_fork() -> None:
    global _forks
    _forks += 1


def _after_fork_child() -> None:
    global _pid, _identity, _written, _full, _seen, _draws, _ended, _task_seq
    global _forks, _role, _method_hint, _threads, _thread_seq, _in_log, _reads, _prompt
    ppid = _pid
    _pid = os.getpid()
    _written = 0
    _full = False
    _seen = [0, 0]
    _draws = 0
    _ended = False
    _task_seq = 0
    _identity = f"{_identity}/fork{_forks}"
    _forks = 0
    _threads = {_thread.get_ident(): 0}
    _thread_seq = 0
    _in_log = {}
    _reads = 0
    _prompt = ""
    if _role == "forkserver":
        _role, _method_hint = "mp", "forkserver"
    elif _mp_launching:
        _role, _method_hint = "mp", "fork"
    else:
        _role, _method_hint = "fork", None
    _emit(_ev("start", role=_role, ppid=ppid))


# -- limits (main process only) ---------------------------------------------------------------


def _apply_limits(spec: str) -> None:
    """spec: "cpu,as,nproc,fsize" (0 = leave alone). Applied before the student's code runs;
    inherited by every process the program starts."""
    try:
        import resource

        cpu, mem, nproc, fsize = (int(x) for x in spec.split(","))
        wanted = [
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_CPU, cpu, cpu + 1),
            # RLIMIT_DATA, not RLIMIT_AS: address space reserved but not writable (malloc arenas
            # of threads, 64 MiB each) would make a program with 30 threads fail to start them
            (resource.RLIMIT_DATA, mem, mem),
            (resource.RLIMIT_NPROC, nproc, nproc),
            (resource.RLIMIT_FSIZE, fsize, fsize),
        ]
        for res, soft, hard in wanted:
            if soft <= 0 and res != resource.RLIMIT_CORE:
                continue
            try:
                resource.setrlimit(res, (soft, hard))
            except (ValueError, OSError):
                old_hard = resource.getrlimit(res)[1]
                if old_hard != resource.RLIM_INFINITY:
                    resource.setrlimit(res, (min(soft, old_hard), old_hard))
    except Exception as exc:
        _emit(_ev("note", what=f"limits: {exc!r}"))


def _wait_cgroup(marker: str) -> None:
    """The grader moves this process into the run's cgroups right after starting it; wait (it
    is almost always done already) so the program never runs outside them.
    marker: "name:count", the cgroup name must appear in `count` hierarchies."""
    name, _, count = marker.rpartition(":")
    deadline = _t() + 2.0
    while True:
        try:
            with open("/proc/self/cgroup") as f:
                if f.read().count("/" + name) >= int(count):
                    return
        except (OSError, ValueError):
            return
        if _t() > deadline:
            _emit(_ev("note", what="not moved into cgroup " + marker))
            return
        _time.sleep(0.0005)


# -- import hook ------------------------------------------------------------------------------


class _Finder:
    """Patches a module right after it is first executed, whoever imports it."""

    def __init__(self) -> None:
        self._busy: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _PATCHES or name in self._busy:
            return None
        self._busy.add(name)
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is not None:
                    spec = find(name, path, target)
                    if spec is not None:
                        break
        finally:
            self._busy.discard(name)
        loader = getattr(spec, "loader", None)
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _patch(name, module)

        try:  # noqa: SIM105
            loader.exec_module = exec_module
        except Exception:
            pass
        return spec

    def invalidate_caches(self) -> None:
        pass


def _patch(name: str, module: Any) -> None:
    if getattr(module, "_grader_patched", False):
        return
    try:
        _PATCHES[name](module)
        module._grader_patched = True
    except Exception as exc:
        _emit(_ev("note", what=f"patching {name}: {exc!r}"))


# -- random -----------------------------------------------------------------------------------


def _note_draw() -> None:
    global _draws
    _draws += 1
    if _draws == 1:
        _emit(_ev("rand"))


def _reseed_random() -> None:
    module = sys.modules.get("random")
    inst = getattr(module, "_inst", None)
    if inst is not None and getattr(module, "_grader_patched", False):
        inst.seed(None)


def _created_by_stdlib() -> bool:
    """Whether the Random instance being seeded was created by the standard library's own
    machinery (tempfile names, multiprocessing) rather than by the program."""
    try:
        frame: Any = sys._getframe(2)
        while frame is not None and frame.f_globals.get("__name__") == "random":
            frame = frame.f_back
        name = frame.f_globals.get("__name__", "") if frame is not None else ""
    except Exception:
        return False
    return name == "tempfile" or name.startswith(("multiprocessing", "concurrent", "asyncio", "uuid"))


def _patch_random(m: Any) -> None:
    cls = m.Random
    c_random = cls.random
    c_getrandbits = cls.getrandbits
    orig_seed = cls.seed

    def seed(self: Any, a: Any = None, version: int = 2) -> Any:
        global _rand_count
        if a is None:  # "seed from the OS" becomes a seed derived from the run and the process
            if self is getattr(m, "_inst", None):
                a = f"{_run_seed}:{_identity}"
            elif _created_by_stdlib():
                self._grader_internal = True  # e.g. tempfile's names: neither counted nor changed
            else:
                _rand_count += 1
                a = f"{_run_seed}:{_identity}:{_rand_count}"
        return orig_seed(self, a, version)

    def random(self: Any) -> Any:
        if not self._grader_internal:
            _note_draw()
        return c_random(self)

    def getrandbits(self: Any, k: int) -> Any:
        if not self._grader_internal:
            _note_draw()
        return c_getrandbits(self, k)

    cls._grader_internal = False
    cls.seed = seed
    cls.random = random
    cls.getrandbits = getrandbits
    inst = m._inst
    for name in (
        "seed", "random", "uniform", "triangular", "randint", "choice", "randrange", "sample",
        "shuffle", "choices", "normalvariate", "lognormvariate", "expovariate", "vonmisesvariate",
        "gammavariate", "gauss", "betavariate", "paretovariate", "weibullvariate", "getrandbits",
        "randbytes", "binomialvariate",
    ):
        if hasattr(m, name) and hasattr(inst, name):
            setattr(m, name, getattr(inst, name))
    m._grader_patched = True
    inst.seed(None)
    # random reseeds itself from the OS in a forked child; this hook runs after its own
    os.register_at_fork(after_in_child=_reseed_random)


# -- multiprocessing --------------------------------------------------------------------------


def _target_kind(target: Any) -> str:
    module = getattr(target, "__module__", "")
    name = getattr(target, "__qualname__", "")
    if module == "multiprocessing.pool" and name == "worker":
        return "pool_worker"
    if module == "concurrent.futures.process" and name == "_process_worker":
        return "executor_worker"
    return "process"


def _describe_process(proc: Any) -> dict[str, Any]:
    target = getattr(proc, "_target", None)
    kind = _target_kind(target)
    if target is None:
        run = getattr(type(proc), "run", None)
        base = sys.modules.get("multiprocessing.process")
        if base is not None and run is not getattr(base.BaseProcess, "run", None):
            return {"kind": kind, "target": f"{type(proc).__qualname__}.run", "args": None}
        return {"kind": kind, "target": None, "args": None}
    args = None
    if kind == "process":
        args = _short_args(getattr(proc, "_args", ()), getattr(proc, "_kwargs", {}))
    return {"kind": kind, "target": _qualname(target), "args": args}


def _patch_mp_context(m: Any) -> None:
    if _start_method and _role == "main":
        m._default_context._default_context = m._concrete_contexts[_start_method]


def _patch_popen_fork(m: Any) -> None:
    # joins are not recorded here: the kernel observer sees every wait that reaps a child
    launch = m.Popen._launch

    def _launch(self: Any, process_obj: Any) -> Any:
        global _mp_launching
        _mp_launching = True
        try:
            return launch(self, process_obj)
        finally:
            _mp_launching = False

    m.Popen._launch = _launch


class _Children(set):  # type: ignore[type-arg]
    """multiprocessing.process._children: Process.start() adds a process to it once the child
    is running, which is where the parent records it (no wrapper around start(), so a failing
    start() shows the program its usual traceback)."""

    def add(self, proc: Any) -> None:
        set.add(self, proc)
        try:
            popen = getattr(proc, "_popen", None)
            desc = getattr(proc, "_grader_desc", None) or {"kind": "process", "target": None, "args": None}
            _emit(_ev("pstart", child=proc.pid, name=proc.name, method=getattr(popen, "method", None),
                      daemon=bool(proc.daemon), **desc))
        except Exception:
            pass


def _after_mp_fork(_anchor: Any = None) -> None:
    """Run by multiprocessing in every child it starts, after it reset its own state."""
    module: Any = sys.modules.get("multiprocessing.process")
    if module is not None and not isinstance(module._children, _Children):
        module._children = _Children(module._children)
    _wrap_stdin()  # the child's stdin was replaced by /dev/null


class _Anchor:
    """register_after_fork keeps a weak reference to an object: this one lives forever."""


_anchor = _Anchor()


def _patch_mp_util(m: Any) -> None:
    m.register_after_fork(_anchor, _after_mp_fork)


def _patch_mp_process(m: Any) -> None:
    cls = m.BaseProcess
    bootstrap = cls._bootstrap
    init = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._grader_desc = _describe_process(self)  # start() deletes _target and _args

    def _bootstrap(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _identity, _mp_launching, _role
        _mp_launching = False
        _role = "mp"
        _identity = str(self.name)
        _reseed_random()
        info = _describe_process(self)
        _emit(_ev("proc", name=self.name, method=_method_hint, daemon=bool(self.daemon), **info))
        code = bootstrap(self, *args, **kwargs)
        _end(code)
        return code

    cls.__init__ = __init__
    cls._bootstrap = _bootstrap
    if not isinstance(m._children, _Children):
        m._children = _Children(m._children)


def _patch_traceback(m: Any) -> None:
    print_exc = m.print_exc

    def print_exc_recorded(limit: Any = None, file: Any = None, chain: bool = True) -> None:
        try:  # multiprocessing's _bootstrap prints the exception that ended a child's run()
            caller = sys._getframe(1)
            if caller.f_code.co_name == "_bootstrap" and caller.f_globals.get("__name__") == "multiprocessing.process":
                tp, value, tb = sys.exc_info()
                if tp is not None:
                    _record_exc("process", tp, value, tb)
        except Exception:
            pass
        print_exc(limit=limit, file=file, chain=chain)

    m.print_exc = print_exc_recorded


class _Task:
    """A pool task: calls the user's function and records which process and thread ran it.

    Module level and picklable, so it travels to spawn and forkserver workers."""

    __slots__ = ("fn", "pool")

    def __init__(self, fn: Any, pool: str) -> None:
        self.fn = fn
        self.pool = pool

    def __reduce__(self) -> Any:
        return (_Task, (self.fn, self.pool))

    def __repr__(self) -> str:
        return repr(self.fn)

    def __getattr__(self, name: str) -> Any:
        if name in ("fn", "pool") or (name.startswith("__") and name not in ("__name__", "__qualname__")):
            raise AttributeError(name)
        return getattr(self.fn, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        global _task_seq
        _task_seq += 1
        n = _task_seq
        _emit(_ev("task", pool=self.pool, n=n, th=_thread_no(), fn=_qualname(self.fn), args=_short_args(args, kwargs)))
        try:
            result = self.fn(*args, **kwargs)
        except BaseException as exc:
            _emit(_ev("task_end", n=n, ok=False, err=_exc_line(exc)))
            _record_exc("task", type(exc), exc, exc.__traceback__)
            raise
        _emit(_ev("task_end", n=n, ok=True))
        return result


def _new_pool_id() -> str:
    global _pool_seq
    _pool_seq += 1
    return f"{_pid}:{_pool_seq}"


def _wrap_task(owner: Any, fn: Any) -> Any:
    pool = getattr(owner, "_grader_pool", None)
    if pool is None or isinstance(fn, _Task) or not callable(fn):
        return fn
    return _Task(fn, pool)


def _patch_mp_pool(m: Any) -> None:
    cls = m.Pool
    repopulate = cls._repopulate_pool
    static = cls.__dict__["_repopulate_pool_static"].__func__

    def _repopulate_pool(self: Any) -> Any:
        if getattr(self, "_grader_pool", None) is None:
            pool = self._grader_pool = _new_pool_id()
            _pool_lists[id(self._pool)] = pool
            method = None
            if type(self).__name__ != "ThreadPool":
                try:  # noqa: SIM105
                    method = self._ctx.get_start_method()
                except Exception:
                    pass
            _emit(_ev("pool", pool=pool, kind=type(self).__name__, size=self._processes, method=method))
        return repopulate(self)

    def _repopulate_pool_static(ctx: Any, Process: Any, processes: Any, pool: Any, *rest: Any, **kw: Any) -> Any:
        before = len(pool)
        result = static(ctx, Process, processes, pool, *rest, **kw)
        pool_id = _pool_lists.get(id(pool))
        if pool_id is not None:
            pids = [w.pid for w in pool[before:] if isinstance(getattr(w, "pid", None), int)]
            if pids:
                _emit(_ev("workers", pool=pool_id, pids=pids))
        return result

    def wrapping(original: Any) -> Any:
        def method(self: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
            return original(self, _wrap_task(self, func), *args, **kwargs)

        method.__name__ = original.__name__
        return method

    cls._repopulate_pool = _repopulate_pool
    cls._repopulate_pool_static = staticmethod(_repopulate_pool_static)
    for name in ("apply_async", "_map_async", "imap", "imap_unordered"):
        setattr(cls, name, wrapping(getattr(cls, name)))


def _is_task_chunk(fn: Any) -> bool:
    """ProcessPoolExecutor.map submits partial(_process_chunk, task): already wrapped."""
    args = getattr(fn, "args", None)
    return bool(getattr(fn, "func", None) is not None and args and isinstance(args[0], _Task))


def _patch_executor(cls: Any, kind: str) -> None:
    init = cls.__init__
    submit = cls.submit

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._grader_pool = _new_pool_id()
        method = None
        ctx = getattr(self, "_mp_context", None)
        if ctx is not None:
            try:  # noqa: SIM105
                method = ctx.get_start_method()
            except Exception:
                pass
        _emit(_ev("pool", pool=self._grader_pool, kind=kind, size=getattr(self, "_max_workers", None), method=method))

    def submit_recorded(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if not _is_task_chunk(fn):
            fn = _wrap_task(self, fn)
        return submit(self, fn, *args, **kwargs)

    cls.__init__ = __init__
    cls.submit = submit_recorded


def _patch_cf_process(m: Any) -> None:
    cls = m.ProcessPoolExecutor
    _patch_executor(cls, "ProcessPoolExecutor")
    mapper = cls.map

    def map_recorded(self: Any, fn: Any, *iterables: Any, **kwargs: Any) -> Any:
        return mapper(self, _wrap_task(self, fn), *iterables, **kwargs)

    cls.map = map_recorded
    spawn = getattr(cls, "_spawn_process", None)
    if spawn is not None:

        def _spawn_process(self: Any) -> None:
            before = set(self._processes)
            spawn(self)
            pids = [pid for pid in self._processes if pid not in before]
            if pids and getattr(self, "_grader_pool", None):
                _emit(_ev("workers", pool=self._grader_pool, pids=pids))

        cls._spawn_process = _spawn_process


def _patch_cf_thread(m: Any) -> None:
    _patch_executor(m.ThreadPoolExecutor, "ThreadPoolExecutor")


# -- threading, logging, subprocess -----------------------------------------------------------

_INTERNAL = ("multiprocessing", "concurrent.futures", "logging", "asyncio", "threading", "queue", "_grader")


def _thread_kind(thread: Any, target: Any) -> str:
    module = getattr(target, "__module__", "") or ""
    name = getattr(target, "__qualname__", "")
    if (module, name) in (("multiprocessing.pool", "worker"), ("concurrent.futures.thread", "_worker")):
        return "pool_worker"
    if target is None:
        cls = type(thread)
        if cls.__module__ == "threading" and cls.__name__ in ("Thread", "Timer"):
            return "thread"
        module = cls.__module__
    return "internal" if module.startswith(_INTERNAL) else "thread"


def _patch_threading(m: Any) -> None:
    cls = m.Thread
    bootstrap_inner = cls._bootstrap_inner
    hook = m.excepthook

    def _bootstrap_inner(self: Any) -> None:
        global _thread_seq
        ident = _thread.get_ident()
        _thread_seq += 1
        _threads[ident] = number = _thread_seq
        target = getattr(self, "_target", None)
        try:
            name = _qualname(target) if target is not None else f"{type(self).__qualname__}.run"
            _emit(_ev("thread", th=number, name=self.name, target=name, kind=_thread_kind(self, target),
                      daemon=bool(self.daemon)))
        except Exception:
            pass
        try:
            bootstrap_inner(self)
        finally:
            _emit(_ev("thread_end", th=number))

    def excepthook(args: Any) -> None:
        try:  # noqa: SIM105
            _record_exc("thread", args.exc_type, args.exc_value, args.exc_traceback)
        except Exception:
            pass
        hook(args)

    cls._bootstrap_inner = _bootstrap_inner
    m.excepthook = excepthook


def _log_dest(handler: Any, record: Any, captured: list[str] | None) -> tuple[str, str]:
    base = getattr(handler, "baseFilename", None)
    stream = getattr(handler, "stream", None)
    if isinstance(stream, _Stream) and captured is not None:
        return ("stdout" if stream._grader_code == 0 else "stderr"), "".join(captured)
    try:
        text = handler.format(record) + str(getattr(handler, "terminator", "\n"))
    except Exception:
        text = str(record.getMessage()) + "\n"
    if isinstance(base, str):
        cwd = os.getcwd() + os.sep
        return (base[len(cwd):] if base.startswith(cwd) else base), text
    if stream is not None:
        name = getattr(stream, "name", None)
        return (name if isinstance(name, str) else type(stream).__name__), text
    return type(handler).__name__, text


def _patch_logging(m: Any) -> None:
    handle = m.Handler.handle

    def handle_recorded(self: Any, record: Any) -> Any:
        ident = _thread.get_ident()
        outer = ident not in _in_log
        if outer:
            _in_log[ident] = []
        try:
            result = handle(self, record)
        finally:
            captured = _in_log.pop(ident, None) if outer else None
        if result and outer:
            try:
                dest, text = _log_dest(self, record, captured)
                origin = getattr(record, "process", None)
                _emit(_ev("log", th=_thread_no(), level=record.levelname, logger=record.name, dest=dest,
                          x=text[:_out_cap], origin=origin if origin != _pid else None))
            except Exception:
                pass
        return result

    m.Handler.handle = handle_recorded


def _patch_subprocess(m: Any) -> None:
    init = m.Popen.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _emit(_ev("sub", child=self.pid, args=_short(args[0] if args else kwargs.get("args"))))

    m.Popen.__init__ = __init__


_PATCHES: dict[str, Callable[[Any], None]] = {
    "random": _patch_random,
    "multiprocessing.context": _patch_mp_context,
    "multiprocessing.process": _patch_mp_process,
    "multiprocessing.util": _patch_mp_util,
    "traceback": _patch_traceback,
    "multiprocessing.popen_fork": _patch_popen_fork,
    "multiprocessing.pool": _patch_mp_pool,
    "concurrent.futures.process": _patch_cf_process,
    "concurrent.futures.thread": _patch_cf_thread,
    "threading": _patch_threading,
    "logging": _patch_logging,
    "subprocess": _patch_subprocess,
}


# -- start ------------------------------------------------------------------------------------


def _role_from_argv() -> str:
    argv = " ".join(getattr(sys, "orig_argv", sys.argv))
    if "--multiprocessing-fork" in argv:
        return "spawn"
    if "multiprocessing.forkserver" in argv:
        return "forkserver"
    if "multiprocessing.resource_tracker" in argv:
        return "resource_tracker"
    return "subprocess"


def install() -> None:
    global _events_path, _run_seed, _start_method, _out_cap, _soft, _hard, _allow
    global _pid, _role, _identity, _method_hint, _prev_excepthook, _threads
    env = os.environ
    _events_path = env.get("GRADER_EVENTS", "")
    if not _events_path:
        return
    _pid = os.getpid()
    _open_events()
    _run_seed = env.get("GRADER_SEED", "0")
    _start_method = env.get("GRADER_START_METHOD", "")
    try:  # noqa: SIM105
        _out_cap, _soft, _hard, _allow = (int(x) for x in env.get("GRADER_BUDGET", "").split(","))
    except ValueError:
        pass
    _threads = {_thread.get_ident(): 0}
    if env.get("GRADER_ROLE") == "main":
        del env["GRADER_ROLE"]  # so that every other Python process knows it is not the main one
        _role = "main"
        _identity = "main"
        _apply_limits(env.pop("GRADER_LIMITS", "0,0,0,0"))
        marker = env.pop("GRADER_CGROUP", "")
        if marker:
            _wait_cgroup(marker)
    else:
        _role = _role_from_argv()
        _identity = _role
        _method_hint = "spawn" if _role == "spawn" else None
    argv = list(getattr(sys, "orig_argv", sys.argv))
    _emit(_ev("start", role=_role, ppid=os.getppid(), argv=[str(a)[:120] for a in argv[:8]],
              py="{}.{}.{}".format(*sys.version_info[:3])))

    import atexit

    if sys.stdout is not None:
        sys.stdout = _Stream(sys.stdout, 0)
    if sys.stderr is not None:
        sys.stderr = _Stream(sys.stderr, 1)
    _wrap_stdin()
    _prev_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child)
    atexit.register(_at_exit)
    sys.meta_path.insert(0, _Finder())
    for name in list(_PATCHES):
        module = sys.modules.get(name)
        if module is not None:
            _patch(name, module)
