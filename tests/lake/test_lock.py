"""One run at a time per lake: a live lock stops a second run, a stale one is taken over."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bi_lake.errors import LakeLocked
from bi_lake.layout import LOCK_KEY
from bi_lake.lock import LakeLock
from bi_lake.storage import LocalStorage


def test_a_live_lock_stops_a_second_holder(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with LakeLock(storage, "run-1"), pytest.raises(LakeLocked, match="locked by run run-1"):
        LakeLock(storage, "run-2").acquire()
    assert not storage.exists(LOCK_KEY)


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_message(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    holder = LakeLock(storage, "killed-run")
    payload = json.loads(holder._payload())
    payload["pid"] = int(dead.stdout)
    storage.write_bytes(LOCK_KEY, json.dumps(payload).encode())
    messages: list[str] = []
    with LakeLock(storage, "run-2", on_takeover=messages.append) as lock:
        assert lock.current_holder() is not None and lock.current_holder().run_id == "run-2"  # type: ignore[union-attr]
    assert messages and "killed-run" in messages[0] and "no longer running" in messages[0]


def test_a_lock_whose_heartbeat_stopped_is_stale(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    payload = json.loads(LakeLock(storage, "elsewhere")._payload())
    payload.update(host="another-machine", heartbeat_at="2020-01-01T00:00:00+00:00")
    storage.write_bytes(LOCK_KEY, json.dumps(payload).encode())
    messages: list[str] = []
    with LakeLock(storage, "run-2", stale_after_s=60, on_takeover=messages.append):
        pass
    assert "heartbeat" in messages[0]


def test_a_torn_lock_file_is_stale(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.write_bytes(LOCK_KEY, b'{"run_id": "x", "pi')
    messages: list[str] = []
    with LakeLock(storage, "run-2", on_takeover=messages.append):
        pass
    assert "unreadable" in messages[0]
