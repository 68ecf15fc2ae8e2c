"""Backfill and reprocessing: `bi run --start/--end` re-extracts a window and rebuilds only the
partitions it touches, and the lake then equals a full refresh; a full refresh of a lake equals a run
on an empty one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bi_contracts.published import gold_tables, published
from bi_lake.settings import Settings
from bi_transform.silver.job import open_store
from tests.conftest import GOLD_CONFIG, gold_contents, silver_contents
from tests.lakes import copy_lake, files_by_month
from tests.running import run_pipeline

pytestmark = pytest.mark.spark
FACTS = ("fct_order", "fct_order_line", "fct_order_option")


def _run(settings: Settings, **options: Any) -> None:
    report = run_pipeline(settings, **options)
    assert report.status == "succeeded", report.error


def _copy(gold_lake: Settings, folder: Path) -> Settings:
    return copy_lake(gold_lake, folder)


def test_a_backfill_rebuilds_only_its_window_and_equals_a_full_refresh(
    gold_lake: Settings, tmp_path: Path
) -> None:
    backfilled = _copy(gold_lake, tmp_path / "backfill")
    silver = open_store(backfilled)
    silver_before = silver.partition_digests(silver.state(), "fct_order")
    gold = gold_tables(backfilled)
    gold_before = published(gold)
    _run(
        backfilled,
        start=GOLD_CONFIG.start.replace(month=2, day=1),
        end=GOLD_CONFIG.start.replace(month=2, day=3),
    )

    silver_after = silver.partition_digests(silver.state(), "fct_order")
    changed = {day for day, files in silver_after.items() if silver_before.get(day) != files}
    # The window's days, and the day before for orders that began before midnight with lines after it.
    assert changed and changed <= {"2023-01-31", "2023-02-01", "2023-02-02", "2023-02-03"}, sorted(changed)
    gold_after = published(gold)
    sales = gold.load("agg_sales_daily")
    assert sales is not None
    files_before = files_by_month(sales, gold_before.datasets["agg_sales_daily"].snapshot_id)
    files_after = files_by_month(sales, gold_after.datasets["agg_sales_daily"].snapshot_id)
    rebuilt = {month for month, files in files_after.items() if files != files_before[month]}
    assert rebuilt == {f"{day[:7]}-01" for day in changed}

    refreshed = _copy(gold_lake, tmp_path / "refresh")
    _run(refreshed, full_refresh=True)
    assert silver_contents(backfilled, FACTS) == silver_contents(refreshed, FACTS)
    assert gold_contents(backfilled) == gold_contents(refreshed)
    # A full refresh of a lake equals the first run on an empty one (gold_lake itself).
    assert silver_contents(refreshed, FACTS) == silver_contents(gold_lake, FACTS)
    assert gold_contents(refreshed) == gold_contents(gold_lake)
