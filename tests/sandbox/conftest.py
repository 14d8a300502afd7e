"""Sandbox tests: real subprocesses with limits of about a second (helpers in helpers.py)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs that take about a second or more (wall-time limits)")
