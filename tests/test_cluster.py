"""`grader grade --cluster`: a real Dask cluster (a LocalCluster of two worker processes), the real
CLI, the same output folder as a local batch, a worker killed mid-batch, Ctrl-C and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader import cluster as remote
from grader.batch import Entry
from grader.errors import GraderError
from grader.rubric.load import load_rubric
from tests.conftest import RUBRIC
from tests.test_batch import SLOW_Q3, _survivors, cli, interrupt_once_two_are_done, make_class, results

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c.scheduler_address


def files_of(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_cluster_gives_the_same_output_folder_as_a_local_run(tmp_path: Path, cluster: str) -> None:
    klass = make_class(tmp_path / "class", 3, sleep=0.1)
    folder = klass / "dana"  # a student folder: its files travel with the task
    folder.mkdir()
    (folder / "notes.txt").write_text("see hw.py")
    (folder / "hw.py").write_text(SLOW_Q3.format(sleep=0.1, n=9, marker="folder"))
    (klass / "empty.py").write_text("")  # a submission that cannot be graded: an error row on both sides

    local = tmp_path / "local"
    assert cli("grade", str(klass), "--out", str(local), "-j", "2").returncode == 1  # empty.py: exit 1
    remote = tmp_path / "remote"
    proc = cli("grade", str(klass), "--out", str(remote), "--cluster", cluster)
    assert proc.returncode == 1, proc.stderr
    assert "2 worker(s)" in proc.stderr

    assert results(remote) == results(local)
    assert len(results(remote)["submissions"]) == 5
    assert files_of(remote) == files_of(local)  # details, pages, traces, Gradescope, class outputs
    assert (remote / "grades.csv").read_text() == (local / "grades.csv").read_text()
    for name in ("dana", "student0.py"):  # the record names the TA's file, not the worker's copy
        assert json.loads((remote / "details" / f"{name}.json").read_text())["path"] == str(klass / name)


@pytest.mark.slow
def test_a_killed_workers_submissions_are_graded_elsewhere(tmp_path: Path) -> None:
    klass = make_class(tmp_path / "class", 3, sleep=1.0)
    local = tmp_path / "local"
    assert cli("grade", str(klass), "--out", str(local), "-j", "2").returncode == 0

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c) as watcher:
        out = tmp_path / "out"
        batch = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(klass), "--out", str(out),
                                  "--cluster", c.scheduler_address], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        deadline = time.monotonic() + 60
        busy: list[str] = []
        while not busy and time.monotonic() < deadline:
            busy = [w for w, keys in watcher.processing().items() if keys]
            time.sleep(0.05)
        assert busy, "no worker picked up a submission"
        pid = watcher.run(os.getpid, workers=busy[:1])[busy[0]]
        os.kill(pid, signal.SIGKILL)  # mid-submission: its runs are under way
        _, err = batch.communicate(timeout=120)
    assert batch.returncode == 0, err
    assert results(out) == results(local)  # every submission has its row, graded as locally


@pytest.mark.slow
def test_ctrl_c_on_a_cluster_batch_keeps_what_finished_and_resume_completes_it(tmp_path: Path,
                                                                                cluster: str) -> None:
    klass = make_class(tmp_path / "class", 4, sleep=0.8)
    out = tmp_path / "out"
    interrupt_once_two_are_done(["grade", str(klass), "--out", str(out), "--cluster", cluster], out, within=5.0)
    kept = len(results(out)["submissions"])
    assert 2 <= kept < 4
    time.sleep(0.5)
    assert not _survivors(), "a run of the interrupted batch survived on a worker"

    resumed = cli("grade", str(klass), "--out", str(out), "--cluster", cluster, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"grading {4 - kept} submission(s)" in resumed.stderr
    whole = tmp_path / "whole"
    assert cli("grade", str(klass), "--out", str(whole), "-j", "2").returncode == 0
    assert results(out) == results(whole)


def test_a_folder_travels_as_the_files_its_loader_may_read(tmp_path: Path) -> None:
    student = tmp_path / "sec1" / "dana"
    (student / "sub").mkdir(parents=True)
    (student / "hw.ipynb").write_text("{}")
    (student / "sub" / "helper.py").write_text("x = 1\n")
    (student / "data.csv").write_text("1,2\n")  # never read by the loader: not sent
    (student / ".hidden.py").write_text("secret\n")
    task = remote.pack(Entry("sec1/dana", str(student)), "d1")
    assert task.schema == remote.TASK_SCHEMA and task.folder and task.name == "dana" and task.digest == "d1"
    assert dict(task.files) == {"hw.ipynb": b"{}", "sub/helper.py": b"x = 1\n"}
    (tmp_path / "worker").mkdir()
    rebuilt = remote.materialize(task, tmp_path / "worker")
    assert rebuilt == tmp_path / "worker" / "dana"
    assert (rebuilt / "sub" / "helper.py").read_text() == "x = 1\n"


def test_a_task_too_big_to_send_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.py"
    big.write_bytes(b"#" * 2048)
    monkeypatch.setattr(remote, "MAX_TASK_BYTES", 1024)
    with pytest.raises(GraderError, match="too large to send"):
        remote.pack(Entry("big.py", str(big)), "d")


@pytest.mark.parametrize("bad", ["../escape.py", "/etc/x.py", "a/../../b.py", ""])
def test_a_worker_writes_a_task_nowhere_but_its_folder(tmp_path: Path, bad: str) -> None:
    task = remote.Task(remote.TASK_SCHEMA, remote.__version__, "x", "x", True, ((bad, b"1"),), "d")
    with pytest.raises(GraderError, match="bad file name"):
        remote.materialize(task, tmp_path)
    assert list(tmp_path.rglob("*.py")) == []


def test_a_worker_refuses_a_task_of_another_grader_version(tmp_path: Path) -> None:
    task = remote.Task(remote.TASK_SCHEMA, "0.0.0-other", "x.py", "x.py", False, (("", b"print(1)"),), "d")
    with pytest.raises(GraderError, match="grader"):
        remote.grade_task(task, remote.Setup(load_rubric(RUBRIC), None, None, False))


def test_a_worker_that_cannot_sandbox_refuses_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    import grader.sandbox
    from grader.errors import UnsafeToRun

    def refuse(**_: object) -> dict[str, str]:
        raise UnsafeToRun("root, and neither namespaces nor a uid of its own")

    monkeypatch.setattr(grader.sandbox, "preflight", refuse)
    remote.worker_protections.cache_clear()
    try:
        in_process = distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0")
        with in_process, distributed.Client(in_process) as client, \
                pytest.raises(remote.ClusterError, match="neither namespaces nor a uid"):
            remote.check_workers(client, unsafe_no_sandbox=False)
        task = remote.Task(remote.TASK_SCHEMA, remote.__version__, "x.py", "x.py", False, (("", b"print(1)"),), "d")
        with pytest.raises(UnsafeToRun):  # a worker that joins later refuses each task the same way
            remote.grade_task(task, remote.Setup(load_rubric(RUBRIC), None, None, False))
    finally:
        remote.worker_protections.cache_clear()


@pytest.mark.slow
def test_a_tls_cluster_is_reached_with_dasks_own_tls_settings(tmp_path: Path) -> None:
    """README: on an untrusted network, run the cluster with TLS; the TA's grader reads the
    certificates from Dask's configuration (here its environment variables)."""
    from distributed.security import Security

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    security = Security(tls_ca_file=str(cert), tls_scheduler_cert=str(cert), tls_scheduler_key=str(key),
                        tls_worker_cert=str(cert), tls_worker_key=str(key), tls_client_cert=str(cert),
                        tls_client_key=str(key), require_encryption=True)
    klass = make_class(tmp_path / "class", 1, sleep=0.1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tls://",
                                  security=security, dashboard_address=":0") as c:
        address = c.scheduler_address
        assert address.startswith("tls://")
        plain = cli("grade", str(klass), "--out", str(tmp_path / "plain"), "--cluster", address)
        assert plain.returncode == 2 and "TLS" in plain.stderr and "Traceback" not in plain.stderr, plain.stderr
        env = {**os.environ, "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(cert),
               "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(cert),
               "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(key)}
        proc = cli("grade", str(klass), "--out", str(tmp_path / "tls"), "--cluster", address, env=env)
        assert proc.returncode == 0, proc.stderr
    assert len(results(tmp_path / "tls")["submissions"]) == 1
