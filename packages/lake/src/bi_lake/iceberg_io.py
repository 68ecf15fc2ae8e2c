"""Iceberg's metadata written to S3 the way the rest of the lake is: with SSE-KMS and the project key.

pyiceberg's own file IO sends no encryption headers, so its objects would depend on the bucket's
default encryption. This file IO reads as pyiceberg does and writes through the lake's `Storage`,
which names the key on every upload (docs/architecture.md, *Table format*).
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import BinaryIO

from pyiceberg.io import InputFile, OutputFile, OutputStream
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.typedef import EMPTY_DICT, Properties

from bi_lake.s3 import S3Storage, split_s3_uri
from bi_lake.storage import is_s3

KMS_KEY_PROPERTY = "bi.kms-key-id"


class _Upload(OutputStream):
    """The object appears whole when the stream closes cleanly, and not at all otherwise."""

    def __init__(self, writing: contextlib.AbstractContextManager[BinaryIO]) -> None:
        self._writing = writing
        self._stream = writing.__enter__()
        self._open = True

    def write(self, b: bytes) -> int:
        return self._stream.write(b)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        if self._open:
            self._open = False
            self._writing.__exit__(None, None, None)

    def __enter__(self) -> _Upload:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if not self._open:
            return
        self._open = False
        self._writing.__exit__(kind, error, trace)


class _KmsOutputFile(OutputFile):
    def __init__(self, location: str, storage: S3Storage, key: str, reading: InputFile) -> None:
        super().__init__(location)
        self._storage = storage
        self._key = key
        self._reading = reading

    def __len__(self) -> int:
        return len(self._reading)

    def exists(self) -> bool:
        return self._storage.exists(self._key)

    def to_input_file(self) -> InputFile:
        return self._reading

    def create(self, overwrite: bool = False) -> OutputStream:
        if not overwrite and self.exists():
            raise FileExistsError(f"{self.location} already exists")
        return _Upload(self._storage.open_write(self._key))


class KmsFileIO(PyArrowFileIO):
    """pyarrow's file IO, whose writes to S3 go through the lake's storage with the project key."""

    def __init__(self, properties: Properties = EMPTY_DICT) -> None:
        super().__init__(properties)
        self._kms_key_id = properties.get(KMS_KEY_PROPERTY)

    def new_output(self, location: str) -> OutputFile:  # type: ignore[override]  # pyarrow's returns its own file class
        if not is_s3(location):
            return super().new_output(location)
        bucket, key = split_s3_uri(location)
        storage = S3Storage(f"s3://{bucket}", self._kms_key_id)
        return _KmsOutputFile(location, storage, key, self.new_input(location))
