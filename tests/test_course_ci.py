"""examples/course-ci: the workflow's own `run:` steps, in order, on a copy of the folder, as GitHub
would run them (bash -eo pipefail, CI=true, no stdin, GITHUB_STEP_SUMMARY set), with the grader
installed by the workflow's install step from a freshly built wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.wheel_env import built_wheel, dependency_paths

EXAMPLE = ROOT / "examples" / "course-ci"
WORKFLOW = EXAMPLE / ".github" / "workflows" / "grade.yml"
APT_STEP = "sudo apt-get update -qq && sudo apt-get install -y -qq bubblewrap strace"


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def test_the_workflow_installs_grades_uploads() -> None:
    steps = workflow()["jobs"]["grade"]["steps"]
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/upload-artifact"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "grader-out/" and upload["if"] == "always()"
    assert any("grader grade homework.ipynb" in s.get("run", "") for s in steps)


def run_steps(repo: Path, env: dict[str, str]) -> list[tuple[str, int, str]]:
    """Each run step in order, as GitHub's default Linux shell runs it; stops at the first failure."""
    done = []
    for step in workflow()["jobs"]["grade"]["steps"]:
        if "run" not in step:
            continue
        if step["run"].strip() == APT_STEP:  # needs sudo and the network; its tools are here already
            assert shutil.which("bwrap") and shutil.which("strace")
            continue
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=repo,
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
        done.append((step["name"], proc.returncode, proc.stdout + proc.stderr))
        if proc.returncode != 0:
            break
    return done


@pytest.mark.slow
def test_the_workflow_steps_run_here(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)  # actions/checkout
    venv = tmp_path / "python"  # actions/setup-python: a fresh Python with pip, nothing else installed
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run([venv / "bin" / "python", "-c", where], check=True, capture_output=True,
                             text=True).stdout.strip()
    (Path(purelib) / "test-deps.pth").write_text("".join(f"{p}\n" for p in dependency_paths()), encoding="utf-8")
    summary = tmp_path / "step_summary.md"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env |= {k: str(v) for k, v in workflow()["env"].items()}
    env |= {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
            "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "HOME": str(tmp_path),
            # the install step, from the wheel instead of the course's release (its dependencies are here)
            "GRADER_INSTALL": str(built_wheel()), "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1"}

    done = run_steps(repo, env)
    assert [(name, code) for name, code, _ in done] == [
        ("Install the grader", 0), ("Check the rubric", 0), ("Grade the notebook", 0), ("Pass mark", 0)], done
    installed = subprocess.run([venv / "bin" / "python", "-c", "import grader; print(grader.__file__)"], cwd=repo,
                               env=env, capture_output=True, text=True, check=True).stdout
    assert installed.startswith(str(venv))  # the workflow's install step put the grader there

    results = json.loads((repo / "grader-out" / "results.json").read_text(encoding="utf-8"))
    (graded,) = results["submissions"]
    assert graded["error"] is None and 0 < graded["score"] < 55
    assert (repo / "grader-out" / "index.html").is_file()  # the artifact: the HTML reports
    assert (repo / "grader-out" / "report" / "homework.ipynb.html").is_file()
    text = summary.read_text(encoding="utf-8")
    assert "Python multiprocessing (short)" in text and "homework" in text

    env["PASS_MARK"] = str(graded["score"] + 1)  # the pass mark can fail the run
    failed = run_steps(repo, env)
    assert failed[-1][:2] == ("Pass mark", 1), failed
