"""Versioned table folders, shared by Silver and Gold.

A run writes each table it changes under a new version folder (`<table>/v=<run_id>/`, with one
`<column>=<value>/` folder per partition where the table is partitioned). Nothing of it is visible
until the layer's state object points at it; a run that dies first leaves folders that `sweep`
removes, and partitions a run did not rebuild keep pointing at their older versions.
"""

from __future__ import annotations

import re

from pyspark.sql import DataFrame, SparkSession

from bi_lake.layout import version_folder
from bi_lake.storage import Storage

UNPARTITIONED = ""


def write_version(
    storage: Storage,
    frame: DataFrame,
    table: str,
    run_id: str,
    partition_by: str | None,
    sort_by: tuple[str, ...] = (),
) -> dict[str, str]:
    """Write `frame` as a new version of `table`: partition value ("" when unpartitioned) -> folder.

    One file per partition (each partition's rows are brought to one task), sorted within it so that
    readers can skip row groups by their statistics.
    """
    version = f"{table}/v={run_id}"
    if partition_by:
        arranged = frame.repartition(partition_by)
        writer = (arranged.sortWithinPartitions(*sort_by) if sort_by else arranged).write.partitionBy(
            partition_by
        )
    else:
        single = frame.coalesce(1)
        writer = (single.sortWithinPartitions(*sort_by) if sort_by else single).write
    writer.mode("overwrite").parquet(storage.uri_of(version))
    if not partition_by:
        return {UNPARTITIONED: version}
    folders: dict[str, str] = {}
    for key in storage.list_keys(version):
        match = re.match(rf"^{re.escape(version)}/{re.escape(partition_by)}=([^/]+)/", key)
        if match:
            folders[match.group(1)] = f"{version}/{partition_by}={match.group(1)}"
    return folders


def data_files(storage: Storage, folder: str) -> list[str]:
    return [key for key in storage.list_keys(folder) if key.endswith(".parquet")]


def read_folders(spark: SparkSession, storage: Storage, table: str, folders: list[str]) -> DataFrame | None:
    if not folders:
        return None
    frame = spark.read.option("basePath", storage.uri_of(table)).parquet(
        *(storage.uri_of(folder) for folder in folders)
    )
    return frame.drop("v")


def sweep_versions(storage: Storage, referenced: set[str]) -> int:
    """Remove the version files no committed partition points to; the number of files removed."""
    removed = 0
    for key in storage.list_keys():
        folder = version_folder(key)
        if folder is not None and folder not in referenced:
            storage.delete(key)
            removed += 1
    return removed
