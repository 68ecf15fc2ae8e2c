"""Bronze bookkeeping: the per-table watermarks and the per-run manifests.

Shared because ingest writes it and the transforms read it (a manifest is what makes a Bronze
partition count).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable, Iterator

from pydantic import BaseModel, Field, PrivateAttr

from bi_lake.errors import ConcurrentUpdate
from bi_lake.layout import MANIFESTS_PREFIX, WATERMARKS_KEY, manifest_key
from bi_lake.storage import Storage


class ColumnSchema(BaseModel):
    name: str
    type: str
    nullable: bool


def schema_fingerprint(columns: list[ColumnSchema]) -> str:
    canonical = json.dumps([[c.name, c.type, c.nullable] for c in columns], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class TableWatermark(BaseModel):
    table: str
    cursor_column: str | None = None
    cursor_value: dt.datetime | None = None
    last_run_id: str
    last_extracted_at: dt.datetime
    columns: list[ColumnSchema]


class Watermarks(BaseModel):
    tables: dict[str, TableWatermark] = Field(default_factory=dict)
    # The version of the watermarks object these were loaded from (None: there was none). Saving is
    # conditional on it, so watermarks another writer moved meanwhile are never overwritten.
    _tag: str | None = PrivateAttr(default=None)

    @classmethod
    def load(cls, storage: Storage) -> Watermarks:
        try:
            data, tag = storage.read_tagged(WATERMARKS_KEY)
        except FileNotFoundError:
            return cls()
        loaded = cls.model_validate_json(data)
        loaded._tag = tag
        return loaded

    def save(self, storage: Storage) -> None:
        data = self.model_dump_json(indent=2).encode()
        saved = (
            storage.create_exclusive(WATERMARKS_KEY, data)
            if self._tag is None
            else storage.replace_if(WATERMARKS_KEY, data, self._tag)
        )
        if saved is None:
            raise ConcurrentUpdate(
                f"the watermarks at {storage.uri_of(WATERMARKS_KEY)} were changed by another writer "
                "during this run, so they were not moved: make sure only one pipeline writes this lake"
            )
        self._tag = saved


class FileEntry(BaseModel):
    key: str
    rows: int
    bytes: int
    sha256: str


class SchemaDrift(BaseModel):
    added: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)
    retyped: dict[str, str] = Field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.added or self.dropped or self.retyped)


class TableManifest(BaseModel):
    table: str
    status: str
    mode: str
    rows: int = 0
    chunks: int = 0
    bytes: int = 0
    files: list[FileEntry] = Field(default_factory=list)
    partition: str | None = None
    # How the rows were read: "sqlite_arrow" (a SQLite file, straight into Arrow) or "driver_rows".
    reader: str | None = None
    cursor_column: str | None = None
    cursor_from: dt.datetime | None = None
    cursor_from_inclusive: bool = False
    cursor_to: dt.datetime | None = None
    watermark_before: dt.datetime | None = None
    watermark_after: dt.datetime | None = None
    columns: list[ColumnSchema] = Field(default_factory=list)
    schema_fingerprint: str = ""
    schema_drift: SchemaDrift = Field(default_factory=SchemaDrift)
    seconds: float = 0.0
    error: str | None = None


class Manifest(BaseModel):
    run_id: str
    source: str
    dialect: str
    extracted_at: dt.datetime
    finished_at: dt.datetime
    tables: list[TableManifest]

    def save(self, storage: Storage) -> None:
        storage.write_bytes(manifest_key(self.run_id), self.model_dump_json(indent=2).encode())


def load_manifests(storage: Storage, excluding: Collection[str] = ()) -> list[Manifest]:
    """Every committed manifest but those of the runs `excluding` names (read: only the others are
    read), oldest first."""
    manifests = [load_manifest(storage, run_id) for run_id in committed_run_ids(storage) - set(excluding)]
    return sorted(manifests, key=_run_order)


# Bronze's lineage columns (the run, the extraction time, ...) start with it; the source's never do.
LINEAGE_PREFIX = "_"


def source_columns(columns: Iterable[str]) -> list[str]:
    """The columns the source gave, in their order, without Bronze's lineage columns."""
    return [name for name in columns if not name.startswith(LINEAGE_PREFIX)]


def files_of(manifests: Iterable[Manifest], table: str) -> list[str]:
    """The keys of a table's Bronze files in these runs, in run order."""
    return [f.key for m in manifests for t in m.tables if t.table == table for f in t.files]


def load_manifest(storage: Storage, run_id: str) -> Manifest:
    return Manifest.model_validate_json(storage.read_bytes(manifest_key(run_id)))


def newest_first(storage: Storage) -> Iterator[Manifest]:
    """The committed manifests, newest first, each read only when it is reached (the runs started in
    the same second as it are read with it, to be ordered by their extraction)."""
    by_second: dict[str, list[str]] = {}
    for run_id in committed_run_ids(storage):
        by_second.setdefault(_started_second(run_id), []).append(run_id)
    for second in sorted(by_second, reverse=True):
        manifests = [load_manifest(storage, run_id) for run_id in by_second[second]]
        yield from sorted(manifests, key=_run_order, reverse=True)


def _started_second(run_id: str) -> str:
    return run_id.split("-", 1)[0]


def _run_order(manifest: Manifest) -> tuple[str, dt.datetime, dt.datetime, str]:
    """Runs in the order they ran: a run id tells the second a run started, not which of two runs
    started in that second came first; their extraction times do."""
    return (_started_second(manifest.run_id), manifest.extracted_at, manifest.finished_at, manifest.run_id)


def committed_run_ids(storage: Storage) -> set[str]:
    return {
        key.removeprefix(f"{MANIFESTS_PREFIX}/").removesuffix(".json")
        for key in storage.list_keys(MANIFESTS_PREFIX)
        if key.endswith(".json")
    }
