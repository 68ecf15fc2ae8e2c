"""Silver's tables as Iceberg tables, and the record of the Silver run that published them.

Each table is declared in the contracts (`bi_contracts.silver`: columns, types, key, partitioning). A
run writes each table's new files aside, then commits table by table: the dimensions first, the facts
after, `fct_order` last. That last commit carries the run's record in its snapshot summary: the
Bronze runs consumed, the reconciliation, and the snapshot of every table as the run left it. Readers
(Gold, `bi status`) read each table at the snapshot the record names, so they never see a run that
is half committed; a run killed before its last commit is done again by the next, which consumes
the same Bronze runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession

from bi_contracts.silver import SilverState, SilverTable, silver_record
from bi_lake.errors import UserError
from bi_lake.manifests import Manifest, newest_first
from bi_lake.settings import Settings
from bi_lake.storage import Storage
from bi_lake.tables import (
    RUN_ID_PROPERTY,
    SILVER,
    SILVER_PUBLISHED_LAST,
    SILVER_RUN_PROPERTY,
    LayerTables,
    Partitioning,
    Published,
    layer_tables,
)
from bi_transform.silver.contracts import spark_schema
from bi_transform.tables import read_files, write_files

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

QUARANTINE_PREFIX = "_quarantine"
_QUARANTINED = re.compile(rf"^{QUARANTINE_PREFIX}/(?P<table>[^/]+)/run_id=(?P<run>[^/]+)/")
PUBLISHED_LAST = SILVER_PUBLISHED_LAST
# The source tables every run reads in full, of which Silver models the latest extraction: the
# calendar only where a run found rows (an empty one keeps the last), the restaurants as found (an
# empty extraction means the source's table is empty now). Table -> whether a run needs rows to count.
FULL_EXTRACTIONS: dict[str, bool] = {"date_dim": True, "restaurants": False}


def latest_extraction(bronze: Storage, table: str) -> Manifest | None:
    """The newest Bronze run whose extraction of a table read in full counts (usually the newest
    run: older manifests are read only until one is found)."""
    needs_rows = FULL_EXTRACTIONS[table]
    for manifest in newest_first(bronze):
        if any(t.table == table and (t.files or not needs_rows) for t in manifest.tables):
            return manifest
    return None


def quarantined_run(key: str) -> str | None:
    """The Silver run a quarantine file belongs to."""
    found = _QUARANTINED.match(key)
    return found["run"] if found else None


def silver_tables(settings: Settings, storage: Storage) -> LayerTables:
    return layer_tables(settings, SILVER, storage)


class SilverStore:
    def __init__(self, tables: LayerTables, declared: Sequence[SilverTable]) -> None:
        self.tables = tables
        self.storage = tables.storage
        self.contracts = {table.name: table for table in declared}
        self.declarations = {table.name: table.declaration for table in declared}
        # Tables this store wrote new files for, and those whose commit it has begun (whose files a
        # snapshot may reference from then on).
        self.written: set[str] = set()
        self.committing: set[str] = set()
        # (table, snapshot id) -> the table's location and the snapshot's data files
        self._planned: dict[tuple[str, int], tuple[str, list[DataFile]]] = {}

    def state(self, *, moved_is_missing: bool = False) -> SilverState:
        """The record of the last Silver run that committed whole; an empty one when there is none."""
        return silver_record(self.tables, moved_is_missing=moved_is_missing)

    def ensure_all(self) -> list[str]:
        """Every table as declared; the ones created now (new, declared anew, or moved)."""
        return [name for name, declared in self.declarations.items() if self.tables.ensure(declared)[1]]

    def _snapshot(self, state: SilverState, table: str) -> tuple[Table, int] | None:
        """The table and the snapshot `state` names for it; an error when that snapshot is gone."""
        snapshot_id = state.tables.get(table)
        loaded = self.tables.load(table) if snapshot_id is not None else None
        if loaded is None or snapshot_id is None:
            return None
        if loaded.snapshot_by_id(snapshot_id) is None:
            raise UserError(
                f"silver: {table}'s snapshot {snapshot_id}, which Silver run {state.run_id} published, is "
                "no longer kept: run `bi run --full-refresh`"
            )
        return loaded, snapshot_id

    def _data_files(self, state: SilverState, table: str) -> tuple[str, list[DataFile]]:
        """The table's location and its data files at the snapshot `state` names (none when it names
        none). A snapshot's files never change, so each is planned once per store, however many
        reads and counts ask."""
        snapshot_id = state.tables.get(table)
        if snapshot_id is not None and (table, snapshot_id) in self._planned:
            return self._planned[table, snapshot_id]
        found = self._snapshot(state, table)
        if found is None:
            return "", []
        loaded, snapshot_id = found
        tasks = loaded.scan(snapshot_id=snapshot_id).plan_files()
        planned = (loaded.location(), [task.file for task in tasks])
        self._planned[table, snapshot_id] = planned
        return planned

    def _files_in(self, state: SilverState, table: str, partitions: set[str] | None) -> list[DataFile]:
        by = self.declarations[table].partitioning
        return [
            file
            for file in self._data_files(state, table)[1]
            if partitions is None or by is None or _day(by, file.partition[0]) in partitions
        ]

    def files(self, state: SilverState, table: str, partitions: set[str] | None = None) -> list[str]:
        """The data files of `table` as the run recorded in `state` left it (or of these order-date
        partitions, ISO dates)."""
        return sorted(file.file_path for file in self._files_in(state, table, partitions))

    def rows(self, state: SilverState, table: str, partitions: set[str] | None = None) -> int:
        """The rows of those files, from the table's metadata (each file's count, taken from its
        footer when it was published): no file is read."""
        return sum(file.record_count for file in self._files_in(state, table, partitions))

    def partition_digests(self, state: SilverState, table: str) -> dict[str, str]:
        """Per order-date partition (an ISO date), a digest of its files: it changes when a run
        republishes the partition."""
        by = self.declarations[table].partitioning
        if by is None:
            return {}
        location, files = self._data_files(state, table)
        # Paths relative to the table, so a lake copied elsewhere has the same digests.
        prefix = location.rstrip("/") + "/"
        days: dict[str, list[str]] = {}
        for file in files:
            days.setdefault(_day(by, file.partition[0]), []).append(file.file_path.removeprefix(prefix))
        return {day: _digest(paths) for day, paths in days.items()}

    def read(
        self, spark: SparkSession, state: SilverState, table: str, partitions: set[str] | None = None
    ) -> DataFrame | None:
        """The committed table (or some of its partitions); None when nothing of it is published."""
        if table not in state.tables:
            return None
        files = self.files(state, table, partitions)
        if partitions is not None and not files:
            return None
        return self.read_files(spark, table, files)

    def write(self, frame: DataFrame, table: str, run_id: str) -> list[str]:
        """Write the new files of `table` (all of it, or the partitions present in `frame`), unpublished."""
        self.written.add(table)
        return write_files(self.tables, self.declarations[table], frame, run_id)

    def read_files(self, spark: SparkSession, table: str, files: list[str]) -> DataFrame:
        """The rows of these data files of `table`, published or only written."""
        return read_files(spark, self.declarations[table], files, spark_schema(self.contracts[table]))

    def discard(self, run_id: str) -> None:
        """Remove the files a failed run wrote for the tables it did not begin to commit (read by no
        one, so removed at once rather than by a later run's expiry). Only the tables this store wrote:
        an earlier attempt of the same run (a retry on Glue shares the run id) may have committed
        others."""
        for table in self.written - self.committing:
            self.storage.delete_prefix(self.tables.data_prefix(table, run_id))

    def publish(
        self,
        table: str,
        files: list[str],
        replacing: Callable[[dt.date], bool] | None,
        run_id: str,
        base: SilverState,
        record: SilverState | None = None,
    ) -> Published:
        """One table's commit, on the snapshot the run read it at (`base`'s); the last one carries the
        run's record."""
        declared = self.declarations[table]
        properties = {RUN_ID_PROPERTY: run_id}
        if record is not None:
            properties[SILVER_RUN_PROPERTY] = record.model_dump_json()
        loaded, _ = self.tables.ensure(declared)
        built_on = base.tables.get(table)
        self.committing.add(table)
        return self.tables.publish(loaded, declared, files, replacing, properties, built_on=built_on)

    def write_quarantine(self, frame: DataFrame, table: str, run_id: str) -> None:
        frame.write.mode("overwrite").parquet(
            self.storage.uri_of(f"{QUARANTINE_PREFIX}/{table}/run_id={run_id}")
        )

    def expire(
        self, state: SilverState, kept: int, days_kept: float, only: Collection[str] | None = None
    ) -> int:
        """Old snapshots and the files only they referenced (of every table, or `only` these), and the
        quarantine of runs that never committed; the number of files removed."""
        removed = 0
        for table, snapshot_id in state.tables.items():
            if only is not None and table not in only:
                continue
            loaded = self.tables.load(table)
            if loaded is not None:
                removed += self.tables.expire(loaded, kept, days_kept, {snapshot_id})
        for key in self.storage.list_keys(QUARANTINE_PREFIX):
            quarantined = _QUARANTINED.match(key)
            if quarantined and quarantined["run"] not in state.silver_runs:
                self.storage.delete(key)
                removed += 1
        return removed


def _day(by: Partitioning, value: int) -> str:
    return by.first_day(value).isoformat()


def _digest(files: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()[:16]
