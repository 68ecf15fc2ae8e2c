"""Two `bi run` on one lake at once, as real processes: one runs, the other exits at once naming the run
that holds the lake (on a folder here; on S3 in tests/s3/test_s3_concurrency.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import sqlite_url
from tests.running import assert_one_line_error, start_bi


def _bi(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return start_bi(*args, cwd=cwd, env=env, clear=("BI_", "AWS_"))


def second_run_is_turned_away(env: dict[str, str], cwd: Path, locked: Callable[[], bool]) -> None:
    first = _bi("run", "--only", "ingest", env=env, cwd=cwd)
    deadline = time.monotonic() + 120
    while not locked():
        assert first.poll() is None, (
            f"the first run ended before it was seen holding the lock: {first.communicate()}"
        )
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)
    started = time.monotonic()
    second = _bi("run", "--only", "ingest", env=env, cwd=cwd)
    out, err = second.communicate(timeout=120)
    waited = time.monotonic() - started
    assert_one_line_error(subprocess.CompletedProcess(second.args, second.returncode, out, err),
                          "the lake is locked by run")  # fmt: skip
    assert waited < 30, f"the second run waited {waited:.0f} s instead of leaving at once"
    assert first.poll() is None or first.returncode == 0
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err


def test_on_a_folder(default_source_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    source.write_bytes(default_source_file.read_bytes())
    lake = tmp_path / "lake"
    env = {"BI_SOURCE_URL": sqlite_url(source), "BI_LAKE": str(lake), "BI_CHUNK_ROWS": "5000"}
    second_run_is_turned_away(env, tmp_path, lambda: (lake / "_lock.json").exists())
    assert not (lake / "_lock.json").exists()


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
