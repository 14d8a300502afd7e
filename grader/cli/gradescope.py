"""`grader gradescope RUBRIC -o autograder.zip`: a Gradescope autograder that grades with RUBRIC.

The zip (Gradescope unpacks it into /autograder/source) holds:

    setup.sh          run once when Gradescope builds the image: apt installs what the sandbox
                      needs (python3-venv, bubblewrap, strace), then a venv with *this* grader
                      installed from the wheel in the zip (the grader is not on PyPI; the wheel
                      pins the exact version that built the zip)
    run_autograder    run per submission: grades /autograder/submission/ as one student's folder
                      and writes /autograder/results/results.json (grader/render/gradescope.py)
    rubric.yaml       the rubric, validated when the zip is built
    rubric/           for `wall_time: auto`: the reference solution's stored times and what keys
                      them (grader/reftimes.py), when they are current; else auto is its ceiling
    grader-*.whl      the grader

`AUTOGRADER_ROOT` (default /autograder) moves the whole layout, and `GRADER_PYTHON` names the
interpreter run_autograder uses (default: the venv setup.sh made), so the bundle can be tested
anywhere. A submission that cannot be graded, or a grader that fails, still gets a results.json
(score 0 and the reason), since Gradescope shows nothing useful for a missing one.

The wheel comes from `--wheel FILE`, or is built (`pip wheel --no-deps`) from the source tree
this grader runs from.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError

if TYPE_CHECKING:
    from grader.rubric.model import Rubric

APT_PACKAGES = ("python3", "python3-venv", "python3-pip", "bubblewrap", "strace")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
set -euo pipefail
cd "$(dirname "$0")"
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq {apt} >/dev/null
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install -q --upgrade pip
"$ROOT/venv/bin/pip" install -q "./{wheel}"
"$ROOT/venv/bin/grader" --version
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission: /autograder/submission/ in, /autograder/results/results.json out.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${GRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT"
exec "$PY" -m grader.cli.gradescope --run "$ROOT"
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "gradescope", help="build a Gradescope autograder zip for a rubric",
        description="Build a Gradescope autograder (setup.sh, run_autograder, the rubric and the grader's wheel) "
                    "that grades each submission with RUBRIC and writes Gradescope's results.json.")
    p.add_argument("rubric", metavar="RUBRIC", help="the rubric: a file, or the name of one that ships")
    p.add_argument("-o", "--output", metavar="ZIP", default="autograder.zip", help="the zip to write "
                                                                                   "(default: autograder.zip)")
    p.add_argument("--wheel", metavar="FILE", help="the grader wheel to put in the zip (default: build one "
                                                   "from the source tree)")
    p.set_defaults(handler=run)


def source_tree() -> Path | None:
    root = Path(__file__).resolve().parent.parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "grader" / "__init__.py").is_file() else None


# What a wheel is built from: a copy of these, so that no stale `build/` folder of the tree (setuptools
# reuses it, deleted modules included) reaches the wheel, and the tree is left as it was.
WHEEL_SOURCES = ("pyproject.toml", "setup.py", "README.md", "grader", "rubrics")


def build_wheel(folder: Path) -> Path:
    """A wheel of the grader's source tree, in `folder`."""
    tree = source_tree()
    if tree is None:
        raise GraderError("this grader is not running from its source tree; pass --wheel FILE (a grader wheel)")
    copy = folder / "src"
    for name in WHEEL_SOURCES:
        if (tree / name).is_dir():
            shutil.copytree(tree / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            copy.mkdir(parents=True, exist_ok=True)
            shutil.copy2(tree / name, copy / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(copy)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wheels = sorted(folder.glob("grader-*.whl"))
    if done.returncode != 0 or not wheels:
        raise GraderError(f"building the grader's wheel failed:\n{done.stderr.strip()}")
    return wheels[0]


def _add(bundle: zipfile.ZipFile, name: str, data: str | bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # the same inputs give the same zip
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def reference_times_files(rubric: Rubric) -> list[tuple[str, bytes]]:
    """What `wall_time: auto` needs on Gradescope: the reference's stored times, and the reference
    solution and expected.yaml that key them, laid out as rubric.yaml's own folder (`rubric/`).
    Nothing without current stored times: every container would then grade the reference before
    each submission, so `auto` means its ceiling there instead (the report says so)."""
    from grader import reftimes

    key = reftimes.keys(rubric) if rubric.auto_limits else None
    times = reftimes.load(rubric, key) if key is not None else None
    reference = reftimes.reference_of(rubric)
    if times is None or reference is None or not reference.is_file():
        return []
    expected = f"version: 1\nreference: {reference.name}\n"  # only what the times are keyed by
    return [("rubric/expected.yaml", expected.encode()), (f"rubric/{reference.name}", reference.read_bytes()),
            (f"rubric/{reftimes.FILE}", (json.dumps(times.to_json(), indent=1) + "\n").encode())]


def run(args: argparse.Namespace) -> int:
    from grader import __version__
    from grader.cli.common import rubric_arg
    from grader.rubric.load import ensure_gradable, load_rubric

    rubric_path = rubric_arg(args.rubric)
    rubric = load_rubric(rubric_path)
    ensure_gradable(rubric)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(args.wheel) if args.wheel else build_wheel(Path(tmp))
        if not wheel.is_file() or not wheel.name.startswith("grader-") or wheel.suffix != ".whl":
            raise GraderError(f"{wheel}: not a grader wheel")
        out = Path(args.output)
        partial = out.with_name(out.name + ".part")
        with zipfile.ZipFile(partial, "w") as bundle:
            _add(bundle, "setup.sh", SETUP_SH.format(apt=" ".join(APT_PACKAGES), wheel=wheel.name), executable=True)
            _add(bundle, "run_autograder", RUN_AUTOGRADER, executable=True)
            _add(bundle, "rubric.yaml", rubric_path.read_bytes())
            for name, data in reference_times_files(rubric):
                _add(bundle, name, data)
            _add(bundle, wheel.name, wheel.read_bytes())
        partial.replace(out)
    print(f"wrote {out}: grades with {rubric.id} ({rubric.max_score:g} points), grader {__version__} ({wheel.name})")
    return 0


def run_autograder(root: Path) -> int:
    """Grade `root`/submission with `root`/source/rubric.yaml into `root`/results/results.json."""
    from grader.render.gradescope import write_results_json

    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    try:
        from grader.grade import grade_submission, outcome_of
        from grader.rubric.load import ensure_gradable, load_rubric

        rubric = load_rubric(root / "source" / "rubric.yaml")
        ensure_gradable(rubric)
        result = grade_submission(str(root / "submission"), rubric, name="submission")
        outcome = outcome_of(result, rubric, submission_id="submission")
        write_results_json(outcome, results)
        from grader.render.safe import printable

        print(printable(f"graded: {outcome.score:g} / {outcome.max_score:g}"
                        + (f" ({outcome.error})" if outcome.error else "")))
    except Exception as exc:  # a results.json Gradescope can show beats a traceback only the staff see
        with contextlib.suppress(OSError):
            results.write_text(json.dumps({"score": 0, "output": f"The autograder failed: {exc}",
                                           "stdout_visibility": "hidden", "tests": []}) + "\n", encoding="utf-8")
        raise
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--run":
        sys.exit(run_autograder(Path(sys.argv[2])))
    sys.exit("usage: python -m grader.cli.gradescope --run AUTOGRADER_ROOT")
