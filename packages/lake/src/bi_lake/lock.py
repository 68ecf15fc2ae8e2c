"""One run at a time per lake: an exclusive lock object with a heartbeat.

The lock is created with an exclusive create (locally written aside and hard-linked into place under
a file lock; `If-None-Match` on S3), and every later change to it (heartbeat, takeover, release) is
conditional on the version this run last saw.
A lock is stale when its process is gone or a zombie (same host), its heartbeat is older than
`stale_after_s` (another host), or it is held by this very run: a retried or resumed job of one
workflow run carries that run's id, and the attempt before it has ended (Glue starts a retry only
after the failed attempt stops), however fresh its last heartbeat. A stale lock is taken over with a
message, a live one makes the second run exit at once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bi_lake.errors import LakeLocked
from bi_lake.layout import LOCK_KEY
from bi_lake.storage import Storage

HEARTBEAT_EVERY_S = 30.0


@dataclass(frozen=True)
class LockHolder:
    run_id: str
    token: str
    pid: int
    host: str
    started_at: str
    heartbeat_at: str

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, started {self.started_at})"


def _is_zombie(pid: int) -> bool:
    """A process that has exited and waits for its parent to reap it (common in containers whose
    first process reaps nothing): it answers signals but runs no more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may itself hold ") ".
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


class LakeLock:
    """Context manager holding the lake lock for one run."""

    def __init__(
        self,
        storage: Storage,
        run_id: str,
        stale_after_s: int = 600,
        on_takeover: Callable[[str], None] | None = None,
    ) -> None:
        self.storage = storage
        self.run_id = run_id
        self.stale_after_s = stale_after_s
        self.on_takeover = on_takeover or (lambda message: None)
        self.token = uuid.uuid4().hex
        self.started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        # The lock object's tag as this run last wrote it: every later write or delete is conditional
        # on it, so a run never overwrites or removes a lock another run has taken over.
        self._tag: str | None = None
        self._tag_lock = threading.Lock()

    def _payload(self) -> bytes:
        holder = {
            "run_id": self.run_id,
            "token": self.token,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started_at,
            "heartbeat_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        return json.dumps(holder).encode()

    def current_holder(self) -> LockHolder | None:
        found = self._read()
        return None if found is None else found[0]

    def _read(self) -> tuple[LockHolder, str] | None:
        try:
            data, tag = self.storage.read_tagged(LOCK_KEY)
        except FileNotFoundError:
            return None
        try:
            return LockHolder(**json.loads(data)), tag
        except (ValueError, TypeError):
            # A lock file cut short by a crash holds no usable owner: treat it as stale.
            return LockHolder("unknown", "", -1, "", "unknown", "1970-01-01T00:00:00+00:00"), tag

    def _stale_reason(self, holder: LockHolder) -> str | None:
        if holder.pid == -1:
            return "its lock file is unreadable"
        if holder.run_id == self.run_id and holder.token != self.token:
            return "it is an earlier attempt of this run"
        if holder.host == socket.gethostname() and not _pid_alive(holder.pid):
            return f"process {holder.pid} is no longer running"
        heartbeat = dt.datetime.fromisoformat(holder.heartbeat_at)
        age = (dt.datetime.now(dt.UTC) - heartbeat).total_seconds()
        if age > self.stale_after_s:
            return f"its heartbeat is {int(age)} s old"
        return None

    def acquire(self) -> None:
        for _ in range(3):
            self._tag = self.storage.create_exclusive(LOCK_KEY, self._payload())
            if self._tag is not None:
                self._start_heartbeat()
                return
            found = self._read()
            if found is None:
                continue
            holder, tag = found
            reason = self._stale_reason(holder)
            if reason is None:
                raise LakeLocked(
                    f"the lake is locked by {holder.describe()}; wait for it to finish "
                    f"(a lock is taken over once {self.stale_after_s} s pass without its heartbeat)"
                )
            # Taken over by replacing exactly the stale lock: of two runs taking it over at once,
            # one replaces it and the other finds it changed and looks again.
            self._tag = self.storage.replace_if(LOCK_KEY, self._payload(), tag)
            if self._tag is not None:
                self.on_takeover(f"took over a stale lock from {holder.describe()}: {reason}")
                self._start_heartbeat()
                return
        raise LakeLocked("could not take the lake lock: another run keeps taking it")

    def _start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(HEARTBEAT_EVERY_S):
                with self._tag_lock:
                    if self._tag is None or self._stop.is_set():
                        return
                    try:
                        renewed = self.storage.replace_if(LOCK_KEY, self._payload(), self._tag)
                    except Exception:
                        # A failed beat (the network, a throttled request) is tried again next time;
                        # the lock goes stale only after `stale_after_s` without one.
                        continue
                    if renewed is None:
                        # Another run replaced the lock: it is no longer ours to renew or remove.
                        self._tag = None
                        return
                    self._tag = renewed

        self._heartbeat = threading.Thread(target=beat, name="lake-lock-heartbeat", daemon=True)
        self._heartbeat.start()

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        with self._tag_lock:
            if self._tag is not None:
                self.storage.delete_if(LOCK_KEY, self._tag)
                self._tag = None

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
