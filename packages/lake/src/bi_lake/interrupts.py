"""Whether the user pressed Ctrl-C during a run, whatever error it then surfaced as.

Ctrl-C in the middle of a Spark call breaks the Python side of the gateway, so what reaches the runner
is often the gateway's own error rather than KeyboardInterrupt. A SIGINT handler records that the
signal came, then does what the handler it wraps did (PySpark's cancels the running Spark jobs and
raises KeyboardInterrupt), so the runner can report the run as interrupted.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_seen = threading.Event()


def seen() -> bool:
    return _seen.is_set()


def reset() -> None:
    _seen.clear()


def watch() -> None:
    """Record SIGINT from now on, keeping the current handler's behaviour. Only the main thread may
    set a handler: elsewhere (a test's worker thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous: Any = signal.getsignal(signal.SIGINT)
    if getattr(previous, "_records_interrupts", False):
        return

    def record(signum: int, frame: FrameType | None) -> None:
        _seen.set()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    record._records_interrupts = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, record)
