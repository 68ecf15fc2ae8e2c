"""Silver's tables on storage, versioned, with one atomic commit.

A run writes each table it changes under a new version folder (`<table>/v=<run_id>/...`, by
`order_date=` partition where the table is partitioned). Nothing of it is visible until the run
writes `_state/current.json`, which maps every table partition to the version that holds it, and
records the Bronze runs consumed. That one object write is the commit: readers follow it, a run that
dies before it leaves only folders that the next run sweeps, and partitions a run did not touch keep
pointing at their older versions.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, Field
from pyspark.sql import DataFrame, SparkSession

from bi_lake.storage import Storage

STATE_KEY = "_state/current.json"
QUARANTINE_PREFIX = "_quarantine"
_VERSION = re.compile(r"^(?P<table>[^/]+)/v=(?P<run>[^/]+)/")
_QUARANTINED = re.compile(rf"^{QUARANTINE_PREFIX}/(?P<table>[^/]+)/run_id=(?P<run>[^/]+)/")
UNPARTITIONED = ""


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
        if not folders:
            return None
        frame = spark.read.option("basePath", self.storage.uri_of(table)).parquet(
            *(self.storage.uri_of(folder) for folder in folders)
        )
        return frame.drop("v")

    def write(self, frame: DataFrame, table: str, run_id: str, partition_by: str | None) -> dict[str, str]:
        """Write a new version of `table` (all of it, or the partitions present in `frame`)."""
        version = f"{table}/v={run_id}"
        if partition_by:
            # One file per partition: each date's rows are brought to one task before writing.
            writer = frame.repartition(partition_by).write.mode("overwrite").partitionBy(partition_by)
        else:
            writer = frame.coalesce(1).write.mode("overwrite")
        writer.parquet(self.storage.uri_of(version))
        if not partition_by:
            return {UNPARTITIONED: version}
        folders: dict[str, str] = {}
        for key in self.storage.list_keys(version):
            match = re.match(rf"^{re.escape(version)}/{partition_by}=([^/]+)/", key)
            if match:
                folders[match.group(1)] = f"{version}/{partition_by}={match.group(1)}"
        return folders

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
        removed = 0
        for key in self.storage.list_keys():
            version = _VERSION.match(key)
            quarantined = _QUARANTINED.match(key)
            if version:
                rest = key[version.end() :].split("/")
                folder = version.group(0).rstrip("/")
                if len(rest) > 1 and "=" in rest[0]:
                    folder = f"{folder}/{rest[0]}"
                stale = folder not in referenced
            elif quarantined:
                stale = quarantined["run"] not in state.silver_runs
            else:
                continue
            if stale:
                self.storage.delete(key)
                removed += 1
        return removed
