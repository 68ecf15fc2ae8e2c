"""The two ways the tests run the product: `bi` in its own process, as a user runs it, and the workflow in
the test's process, as `bi run` runs it. Tests that start a server or kill a run midway drive their own
process (tests/dashboard/browsing.py, tests/reliability/test_crash.py); every other one comes here."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from bi_cli.runner import RunOptions, run_workflow
from bi_lake.runs import RunReport
from bi_lake.settings import Settings
from bi_lake.workflow import Progress, SilentProgress

BI = [sys.executable, "-m", "bi_cli.main"]
# A `bi run` of the default demo data takes about four minutes on two idle cores; a busy machine, more.
PROCESS_TIMEOUT_S = 900
# Set (to the reason) while a test not marked `e2e` runs: tests/conftest.py keeps the fast loop fast.
REFUSED: str | None = None


def _allowed() -> None:
    if REFUSED:
        pytest.fail(REFUSED)


def bi_environment(env: Mapping[str, str] | None = None, clear: tuple[str, ...] = ("BI_",)) -> dict[str, str]:
    """This process's environment without anything of ours (names starting with `clear`), plus `env`:
    what a user who set only `env` would have."""
    return {k: v for k, v in os.environ.items() if not k.startswith(clear)} | dict(env or {})


def bi(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    clear: tuple[str, ...] = ("BI_",),
    timeout: float = PROCESS_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """`bi ARGS` to its end, its output captured."""
    _allowed()
    return subprocess.run(
        [*BI, *args], cwd=cwd, env=bi_environment(env, clear), capture_output=True, text=True, timeout=timeout
    )


def start_bi(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, clear: tuple[str, ...] = ("BI_",)
) -> subprocess.Popen[str]:
    """`bi ARGS` started and left running, its output piped: for tests that act while it runs."""
    _allowed()
    return subprocess.Popen(
        [*BI, *args], cwd=cwd, env=bi_environment(env, clear), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bi: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]


def run_pipeline(
    settings: Settings,
    progress: Progress | None = None,
    *,
    full_refresh: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    only: tuple[str, ...] | None = None,
) -> RunReport:
    """The workflow on these settings with `bi run`'s options, in this process."""
    _allowed()
    options = RunOptions(full_refresh=full_refresh, start=start, end=end, only=only)
    return run_workflow(settings, options, progress or SilentProgress())
