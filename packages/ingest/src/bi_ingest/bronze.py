"""Writing one table's extraction into its Bronze partition: Parquet files, one row group per chunk."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from contextlib import ExitStack, suppress
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from bi_ingest.types import UTC_TIMESTAMP
from bi_lake.layout import bronze_partition
from bi_lake.manifests import FileEntry, committed_run_ids
from bi_lake.storage import Storage

LINEAGE_FIELDS = (
    pa.field("_source_table", pa.string(), nullable=False),
    pa.field("_run_id", pa.string(), nullable=False),
    pa.field("_extracted_at", UTC_TIMESTAMP, nullable=False),
    pa.field("_cursor_value", UTC_TIMESTAMP, nullable=True),
)
ROWS_PER_FILE = 1_000_000
_RUN_DIR = re.compile(r"^(?P<table>[^/]+)/ingest_date=[^/]+/run_id=(?P<run_id>[^/]+)/")


class _HashingStream(io.RawIOBase):
    """Passes bytes through to the storage stream, counting and hashing them on the way."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)
        self.inner.write(view)
        self.sha256.update(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        # The storage stream is closed (and published) by its own context manager, not by Parquet.
        super().close()


class PartitionWriter:
    """Streams chunks of one table into `<table>/ingest_date=D/run_id=R/part-NNNNN.parquet`.

    Files become visible one by one (each written atomically), but the partition only counts once
    the run's manifest names it; `abort` removes what was written.
    """

    def __init__(
        self,
        storage: Storage,
        table: str,
        run_id: str,
        ingest_date: dt.date,
        schema: pa.Schema,
        rows_per_file: int = ROWS_PER_FILE,
    ) -> None:
        self.storage = storage
        self.partition = bronze_partition(table, ingest_date, run_id)
        self.schema = schema
        self.rows_per_file = rows_per_file
        self.files: list[FileEntry] = []
        self.chunks = 0
        self._stack: ExitStack | None = None
        self._writer: pq.ParquetWriter | None = None
        self._hashing: _HashingStream | None = None
        self._rows_in_file = 0

    @property
    def rows(self) -> int:
        return sum(entry.rows for entry in self.files) + self._rows_in_file

    def write(self, chunk: pa.Table) -> None:
        if chunk.num_rows == 0:
            return
        if self._writer is not None and self._rows_in_file + chunk.num_rows > self.rows_per_file:
            self._close_file()
        if self._writer is None:
            self._open_file()
        assert self._writer is not None
        self._writer.write_table(chunk, row_group_size=chunk.num_rows)
        self._rows_in_file += chunk.num_rows
        self.chunks += 1

    def _open_file(self) -> None:
        key = f"{self.partition}/part-{len(self.files):05d}.parquet"
        self._stack = ExitStack()
        stream = self._stack.enter_context(self.storage.open_write(key))
        self._hashing = _HashingStream(stream)
        self._writer = pq.ParquetWriter(self._hashing, self.schema, compression="zstd")
        self.files.append(FileEntry(key=key, rows=0, bytes=0, sha256=""))

    def _close_file(self) -> None:
        assert self._writer is not None and self._hashing is not None and self._stack is not None
        self._writer.close()
        self._stack.close()
        entry = self.files[-1]
        entry.rows, entry.bytes, entry.sha256 = (
            self._rows_in_file,
            self._hashing.size,
            self._hashing.sha256.hexdigest(),
        )
        self._writer, self._hashing, self._stack, self._rows_in_file = None, None, None, 0

    def close(self) -> list[FileEntry]:
        if self._writer is not None:
            self._close_file()
        return self.files

    def abort(self) -> None:
        if self._stack is not None:
            if self._writer is not None:
                # Closed here rather than when collected, which would write its footer to a closed stream.
                with suppress(Exception):
                    self._writer.close()
            # Leaving the storage stream with an error discards the half-written file.
            self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)
            self._writer, self._hashing, self._stack = None, None, None
        self.storage.delete_prefix(self.partition)


def sweep_uncommitted(storage: Storage, tables: list[str]) -> list[str]:
    """Remove run partitions that no manifest names (left by a run that died); the partitions removed.

    Only called under the lake lock, so no live run's partition can be among them.
    """
    committed = committed_run_ids(storage)
    removed: list[str] = []
    for table in tables:
        for key in storage.list_keys(table):
            match = _RUN_DIR.match(key)
            if match and match["run_id"] not in committed:
                partition = key[: match.end() - 1]
                if partition not in removed:
                    storage.delete_prefix(partition)
                    removed.append(partition)
    return removed
