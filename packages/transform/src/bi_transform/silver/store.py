"""Silver's tables on storage, versioned, with one atomic commit.

A run writes each table it changes as a new version (see `bi_transform.versions`, by `order_date=`
partition where the table is partitioned). Nothing of it is visible until the run writes
`_state/current.json`, which maps every table partition to the version that holds it, and records the
Bronze runs consumed. That one object write is the commit.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, Field
from pyspark.sql import DataFrame, SparkSession

from bi_lake.layout import STATE_KEY
from bi_lake.storage import Storage
from bi_transform.versions import read_folders, sweep_versions, write_version

QUARANTINE_PREFIX = "_quarantine"
_QUARANTINED = re.compile(rf"^{QUARANTINE_PREFIX}/(?P<table>[^/]+)/run_id=(?P<run>[^/]+)/")


class TableState(BaseModel):
    partitioned: bool
    # partition value (an ISO date; "" for an unpartitioned table) -> folder holding its files
    partitions: dict[str, str] = Field(default_factory=dict)


class SilverState(BaseModel):
    run_id: str | None = None
    committed_at: dt.datetime | None = None
    consumed_ingest_runs: list[str] = Field(default_factory=list)
    silver_runs: list[str] = Field(default_factory=list)
    tables: dict[str, TableState] = Field(default_factory=dict)
    reconciliation: dict[str, Any] = Field(default_factory=dict)


class SilverStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def state(self) -> SilverState:
        try:
            return SilverState.model_validate_json(self.storage.read_bytes(STATE_KEY))
        except FileNotFoundError:
            return SilverState()

    def read(
        self, spark: SparkSession, state: SilverState, table: str, partitions: set[str] | None = None
    ) -> DataFrame | None:
        """The committed table (or some of its partitions); None when nothing of it is published."""
        entry = state.tables.get(table)
        if entry is None:
            return None
        folders = [
            f for value, f in sorted(entry.partitions.items()) if partitions is None or value in partitions
        ]
        return read_folders(spark, self.storage, table, folders)

    def write(self, frame: DataFrame, table: str, run_id: str, partition_by: str | None) -> dict[str, str]:
        """Write a new version of `table` (all of it, or the partitions present in `frame`)."""
        return write_version(self.storage, frame, table, run_id, partition_by)

    def write_quarantine(self, frame: DataFrame, table: str, run_id: str) -> None:
        frame.write.mode("overwrite").parquet(
            self.storage.uri_of(f"{QUARANTINE_PREFIX}/{table}/run_id={run_id}")
        )

    def commit(self, state: SilverState) -> None:
        self.storage.write_bytes(STATE_KEY, state.model_dump_json(indent=2).encode())

    def sweep(self, state: SilverState) -> int:
        """Remove files no committed partition points to (old versions, a dead run's output) and the
        quarantine of runs that never committed; the number of files removed."""
        referenced = {folder for entry in state.tables.values() for folder in entry.partitions.values()}
        removed = sweep_versions(self.storage, referenced)
        for key in self.storage.list_keys(QUARANTINE_PREFIX):
            quarantined = _QUARANTINED.match(key)
            if quarantined and quarantined["run"] not in state.silver_runs:
                self.storage.delete(key)
                removed += 1
        return removed
