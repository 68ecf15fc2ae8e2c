"""Backfill and reprocessing: `bi run --start/--end` re-extracts a window and rebuilds only the
partitions it touches, and the lake then equals a full refresh; a full refresh of a lake equals a run
on an empty one."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bi_lake.layout import STATE_KEY, Lake
from bi_lake.settings import Settings
from bi_metrics.gold import GoldState
from bi_transform.silver.store import SilverStore
from tests.conftest import GOLD_CONFIG, gold_contents, silver_contents, sqlite_url
from tests.running import run_pipeline

pytestmark = pytest.mark.spark
FACTS = ("fct_order", "fct_order_line", "fct_order_option")


def _run(settings: Settings, **options: Any) -> None:
    report = run_pipeline(settings, **options)
    assert report.status == "succeeded", report.error


def _copy(gold_lake: Settings, folder: Path) -> Settings:
    shutil.copytree(Path(gold_lake.lake), folder / "lake")
    shutil.copy(Path(gold_lake.source_url.removeprefix("sqlite:///")), folder / "source.db")
    return Settings(source_url=sqlite_url(folder / "source.db"), lake=str(folder / "lake"))


def test_a_backfill_rebuilds_only_its_window_and_equals_a_full_refresh(
    gold_lake: Settings, tmp_path: Path
) -> None:
    backfilled = _copy(gold_lake, tmp_path / "backfill")
    silver_before = SilverStore(Lake.from_settings(backfilled).silver).state()
    gold_before = GoldState.model_validate_json(Lake.from_settings(backfilled).gold.read_bytes(STATE_KEY))
    _run(
        backfilled,
        start=GOLD_CONFIG.start.replace(month=2, day=1),
        end=GOLD_CONFIG.start.replace(month=2, day=3),
    )

    silver_after = SilverStore(Lake.from_settings(backfilled).silver).state()
    changed = {day for day, folder in silver_after.tables["fct_order"].partitions.items()
               if silver_before.tables["fct_order"].partitions.get(day) != folder}  # fmt: skip
    # The window's days, and the day before for orders that began before midnight with lines after it.
    assert changed and changed <= {"2023-01-31", "2023-02-01", "2023-02-02", "2023-02-03"}, sorted(changed)
    gold_after = GoldState.model_validate_json(Lake.from_settings(backfilled).gold.read_bytes(STATE_KEY))
    rebuilt = {month for month, p in gold_after.datasets["agg_sales_daily"].partitions.items()
               if gold_before.datasets["agg_sales_daily"].partitions[month].folder != p.folder}  # fmt: skip
    assert rebuilt == {f"{day[:7]}-01" for day in changed}

    refreshed = _copy(gold_lake, tmp_path / "refresh")
    _run(refreshed, full_refresh=True)
    assert silver_contents(backfilled, FACTS) == silver_contents(refreshed, FACTS)
    assert gold_contents(backfilled) == gold_contents(refreshed)
    # A full refresh of a lake equals the first run on an empty one (gold_lake itself).
    assert silver_contents(refreshed, FACTS) == silver_contents(gold_lake, FACTS)
    assert gold_contents(refreshed) == gold_contents(gold_lake)
