"""Storage behind one interface: objects addressed by `/`-separated keys under a root URI.

Every layer of the lake (and the run bookkeeping) goes through `Storage`, so no code outside this
module knows whether the lake is a local folder or an object store. Writes are atomic per object: a
reader sees the old object or the new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from bi_lake.errors import UserError

_TMP_PREFIX = ".tmp-"


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


def validate_uri(uri: str) -> str:
    """Check a lake location is a folder path, file:// URI or s3://bucket[/prefix]."""
    if not uri.strip():
        raise ValueError("must not be empty")
    if "://" in uri and not uri.startswith(("file://", "s3://", "s3a://")):
        raise ValueError(f"unsupported scheme in {uri!r}: use a folder path or s3://bucket/prefix")
    if is_s3(uri) and not uri.split("://", 1)[1].split("/", 1)[0]:
        raise ValueError(f"{uri!r} names no bucket")
    return uri


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(part.strip("/") for part in parts)])


class Storage(ABC):
    """Objects under one root. Keys are relative, `/`-separated, and never start with `/`."""

    uri: str

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; `FileNotFoundError` when it does not exist."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Create or replace the object atomically and durably."""

    @abstractmethod
    def open_write(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A stream whose bytes become the object when the block exits cleanly, and nothing otherwise."""

    @abstractmethod
    def create_exclusive(self, key: str, data: bytes) -> str | None:
        """Create the object only if it does not exist: its tag, or None when it already did."""

    @abstractmethod
    def read_tagged(self, key: str) -> tuple[bytes, str]:
        """The object's bytes and a tag that changes whenever the object does."""

    @abstractmethod
    def replace_if(self, key: str, data: bytes, tag: str) -> str | None:
        """Replace the object only if it still has `tag`: the new tag, or None when it had changed."""

    @abstractmethod
    def delete_if(self, key: str, tag: str) -> bool:
        """Delete the object only if it still has `tag`."""

    def check(self) -> None:  # noqa: B027 (most storages have nothing to check)
        """Fail with one line now if the location cannot be used (a missing bucket, no access)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list_keys(self, prefix: str = "") -> list[str]:
        """Every object key under `prefix` (recursively), sorted; in-flight temporary objects excluded."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under `prefix`; the number removed."""

    def uri_of(self, key: str) -> str:
        return join_uri(self.uri, key)

    def local_path(self, key: str) -> Path | None:
        """The object's file, where the storage is a local folder (a reader may then read only the
        parts of it it needs); None elsewhere."""
        return None


def folder_problem(folder: Path, *, writing: bool) -> str | None:
    """Why `folder` cannot be used as a folder (to read from or, with `writing`, to create and write
    in), or None. A folder that does not exist yet is fine when its nearest existing parent is one."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder" + ("" if existing == folder else f" (for {folder})")
    if writing and not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write in {existing}" + ("" if existing == folder else f" (to create {folder})")
    return None


class LocalStorage(Storage):
    """A folder on the local filesystem; atomicity through write-to-temporary, fsync and rename."""

    def __init__(self, root: str | Path) -> None:
        text = str(root)
        self.root = Path(text.removeprefix("file://")).expanduser().resolve()
        self.uri = str(self.root)
        # Refused at once, in one line, rather than as an OS error in the middle of a command.
        if problem := folder_problem(self.root, writing=False):
            raise UserError(problem)

    def check(self) -> None:
        if problem := folder_problem(self.root, writing=True):
            raise UserError(problem)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create {self.root}: {exc.strerror}") from None

    def _path(self, key: str) -> Path:
        clean = key.strip("/")
        if any(part in {"..", "."} for part in clean.split("/")):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / clean if clean else self.root

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open_write(key) as stream:
            stream.write(data)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}-{target.name}")
        try:
            with temporary.open("wb") as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            temporary.replace(target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def create_exclusive(self, key: str, data: bytes) -> str | None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written whole aside, then linked into place: link fails if the object exists, and a crash
        # leaves either no object or a complete one, never a truncated one.
        temporary = target.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}-{target.name}")
        try:
            with temporary.open("wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            with self._guard(target):
                try:
                    os.link(temporary, target)
                except FileExistsError:
                    return None
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return _tag(data)

    @contextlib.contextmanager
    def _guard(self, target: Path) -> Iterator[None]:
        """Serialises the conditional operations on one object across processes (an flock)."""
        guard = target.with_name(f"{_TMP_PREFIX}guard-{target.name}")
        with guard.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read_tagged(self, key: str) -> tuple[bytes, str]:
        # Objects are replaced by rename and created by link, so a read sees a whole object.
        data = self.read_bytes(key)
        return data, _tag(data)

    @staticmethod
    def _still(target: Path, tag: str) -> bool:
        """Under the object's guard: whether it exists and still has `tag`."""
        try:
            return _tag(target.read_bytes()) == tag
        except FileNotFoundError:
            return False

    def replace_if(self, key: str, data: bytes, tag: str) -> str | None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._guard(target):
            if not self._still(target, tag):
                return None
            self.write_bytes(key, data)
        return _tag(data)

    def delete_if(self, key: str, tag: str) -> bool:
        target = self._path(key)
        if not target.parent.is_dir():
            return False
        with self._guard(target):
            if not self._still(target, tag):
                return False
            target.unlink()
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str = "") -> list[str]:
        base = self._path(prefix)
        if base.is_file():
            return [prefix.strip("/")]
        if not base.is_dir():
            return []
        keys = [
            path.relative_to(self.root).as_posix()
            for path in base.rglob("*")
            if path.is_file() and not path.name.startswith(_TMP_PREFIX)
        ]
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix)
        if base == self.root:
            raise ValueError("refusing to delete a whole storage root")
        if base.is_file():
            base.unlink()
            return 1
        if not base.is_dir():
            return 0
        count = sum(1 for path in base.rglob("*") if path.is_file())
        shutil.rmtree(base)
        return count


def _tag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def open_storage(uri: str, kms_key_id: str | None = None) -> Storage:
    """The storage for a lake location: a folder, or S3 (whose writes use SSE-KMS with `kms_key_id`)."""
    validate_uri(uri)
    if is_s3(uri):
        from bi_lake.s3 import S3Storage

        return S3Storage(uri, kms_key_id)
    return LocalStorage(uri)
