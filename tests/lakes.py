"""Copies of a built lake that tests may change without touching the original."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from bi_contracts.gold import BY_MONTH
from bi_contracts.published import GOLD_RUN_PROPERTY, PUBLISHED_LAST, gold_tables, published
from bi_contracts.silver import TABLES_BY_NAME, SilverState
from bi_lake.settings import Settings
from bi_lake.tables import RUN_ID_PROPERTY, SILVER_PUBLISHED_LAST, LayerTables, file_uri
from bi_transform.gold.job import COMMIT_ORDER
from bi_transform.silver.job import open_store
from tests.conftest import sqlite_url

if TYPE_CHECKING:
    from pyiceberg.table import Table


def copy_lake(settings: Settings, folder: Path) -> Settings:
    """The lake and its SQLite source copied into `folder`, independent of the original.

    Iceberg records absolute paths, so a copied folder would still name the original's files: the
    copy's tables are registered anew in its own catalog (see `copy_tables`).
    """
    shutil.copytree(Path(settings.lake), folder / "lake", ignore=shutil.ignore_patterns("_catalog"))
    shutil.copy(Path(settings.source_url.removeprefix("sqlite:///")), folder / "source.db")
    copy = Settings(source_url=sqlite_url(folder / "source.db"), lake=str(folder / "lake"))
    copy_tables(settings, copy, upload=False)
    return copy


def copy_tables(
    original: Settings, copy: Settings, upload: bool, layers: tuple[str, ...] = ("silver", "gold")
) -> None:
    """Register in the copy's catalog each Silver and Gold table with the files of the snapshot the
    original's last run recorded, and carry the runs' records over with the new snapshot ids. With
    `upload`, each file is first written to the copy's storage (on S3: one SSE-KMS upload each)."""
    silver, copied_silver = open_store(original), open_store(copy)
    silver_record = silver.state()
    for table in TABLES_BY_NAME if "silver" in layers else ():
        files = silver.files(silver_record, table)
        mapped = _moved(files, silver.tables, copied_silver.tables, upload)
        carried = silver_record.model_copy(deep=True) if table == SILVER_PUBLISHED_LAST else None
        if carried is not None:
            carried.tables.pop(SILVER_PUBLISHED_LAST, None)
        done = copied_silver.publish(table, mapped, None, silver_record.run_id or "", SilverState(), carried)
        silver_record.tables[table] = done.snapshot_id

    gold, copied_gold = gold_tables(original), gold_tables(copy)
    record = published(gold)
    for dataset in COMMIT_ORDER if "gold" in layers else ():
        source = gold.load(dataset.name)
        assert source is not None, dataset.name
        snapshot = source.scan(snapshot_id=record.datasets[dataset.name].snapshot_id)
        files = _moved([t.file.file_path for t in snapshot.plan_files()], gold, copied_gold, upload)
        properties = {RUN_ID_PROPERTY: record.run_id or ""}
        if dataset.name == PUBLISHED_LAST:
            properties[GOLD_RUN_PROPERTY] = record.model_copy(
                update={"datasets": {k: v for k, v in record.datasets.items() if k != PUBLISHED_LAST}}
            ).model_dump_json()
        registered, _ = copied_gold.ensure(dataset.declaration)
        done = copied_gold.publish(registered, dataset.declaration, files, None, properties, built_on=None)
        record.datasets[dataset.name] = record.datasets[dataset.name].model_copy(
            update={"snapshot_id": done.snapshot_id}
        )


def _moved(files: list[str], source: LayerTables, target: LayerTables, upload: bool) -> list[str]:
    old_root = file_uri(source.storage, "")
    keys = [file.removeprefix(old_root) for file in files]
    if upload:
        for key in keys:
            target.storage.write_bytes(key, source.storage.read_bytes(key))
    return [file_uri(target.storage, key) for key in keys]


def files_by_month(table: Table, snapshot_id: int) -> dict[str, set[str]]:
    """A month-partitioned Gold table's files at a snapshot, by month (its first day)."""
    months: dict[str, set[str]] = {}
    for task in table.scan(snapshot_id=snapshot_id).plan_files():
        first_day = BY_MONTH.first_day(task.file.partition[0]).isoformat()
        months.setdefault(first_day, set()).add(task.file.file_path)
    return months


def unreferenced_files(tables: LayerTables, name: str) -> tuple[set[str], set[str]]:
    """A table's data files on storage, and those its kept snapshots reference: equal when nothing is
    left unpublished and nothing a reader may still plan on is gone."""
    table = tables.load(name)
    assert table is not None, name
    referenced = {
        task.file.file_path
        for snapshot in table.snapshots()
        for task in table.scan(snapshot_id=snapshot.snapshot_id).plan_files()
    }
    on_disk = {
        file_uri(tables.storage, key) for key in tables.storage.list_keys(name) if key.endswith(".parquet")
    }
    return on_disk, referenced
