"""Errors a user can act on.

Anything raised as a `UserError` is shown as one line on stderr with a non-zero exit status and no
traceback; everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A mistake or an environment problem the user can fix; the message is the whole story.

    `details` (JSON-ready) is what a run report keeps beside the message, for whoever looks closer.
    """

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = details or {}


class LakeLocked(UserError):
    """Another run holds the lake's lock."""


class ConcurrentUpdate(UserError):
    """A conditional write found the object changed by another writer since it was read."""
