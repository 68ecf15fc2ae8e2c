"""One run at a time per lake: a live lock stops a second run, a stale one is taken over."""

from __future__ import annotations

import json
import subprocess
import sys
import time
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
        holder_now = lock.current_holder()
        assert holder_now is not None and holder_now.run_id == "run-2"
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


def _lock_of(storage: LocalStorage, run_id: str, **holder: object) -> None:
    payload = json.loads(LakeLock(storage, run_id)._payload())
    payload.update(holder)
    storage.write_bytes(LOCK_KEY, json.dumps(payload).encode())


def test_a_lock_held_by_a_zombie_process_is_taken_over(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    # A child that has exited and that nobody has reaped yet: it still answers signal 0.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{child.pid}/stat")
        for _ in range(200):
            if stat.read_text().rpartition(")")[2].split()[0] == "Z":
                break
            time.sleep(0.05)
        else:
            pytest.fail("the child never became a zombie")
        _lock_of(storage, "killed-run", pid=child.pid)
        messages: list[str] = []
        with LakeLock(storage, "run-2", on_takeover=messages.append):
            pass
        assert f"process {child.pid} is no longer running" in messages[0]
    finally:
        child.wait()


def test_a_retry_of_the_same_run_takes_its_own_lock_over_at_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    # The failed attempt's lock looks alive: this process, a fresh heartbeat.
    _lock_of(storage, "workflow-run-1")
    messages: list[str] = []
    with LakeLock(storage, "workflow-run-1", on_takeover=messages.append):
        pass
    assert "earlier attempt of this run" in messages[0]
    # Another run still waits for a live lock.
    _lock_of(storage, "workflow-run-1")
    with pytest.raises(LakeLocked, match="locked by run workflow-run-1"):
        LakeLock(storage, "workflow-run-2").acquire()
