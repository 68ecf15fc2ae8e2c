"""The benchmark's tiled lake (bench/tile.py), which stands for 100x in the query figures: it must
answer as the lake it copies, times the copies, or those figures measure the wrong thing."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import duckdb

from bi_contracts.gold import CALENDAR, ITEMS, RESTAURANTS
from bi_lake.settings import Settings
from bi_metrics.engine import MetricsEngine
from bi_metrics.question import Question

TIMES = 3
QUESTIONS = {
    "by day": Question(metrics=("net_sales", "orders", "aov"), by=("order_date",)),
    "by restaurant": Question(metrics=("net_sales", "orders", "customers"), by=("restaurant_id",)),
    "by month x category": Question(metrics=("net_sales", "orders"), by=("order_month", "item_category")),
    "by restaurant name and weekday": Question(
        metrics=("net_sales", "customers"), by=("restaurant_name", "day_of_week")
    ),
    "by segment": Question(metrics=("customers", "orders_per_customer", "repeat_rate"), by=("rfm_segment",)),
    "by item in a period": Question(
        metrics=("items_sold", "customers"),
        by=("item_name",),
        start=dt.date(2023, 2, 1),
        end=dt.date(2023, 2, 28),
    ),
    "total": Question(metrics=("net_sales", "gross_sales", "customers", "repeat_rate", "aov")),
}


def _tile_module() -> ModuleType:
    path = Path(__file__).parents[2] / "bench" / "tile.py"
    spec = importlib.util.spec_from_file_location("bench_tile", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_a_tiled_lake_answers_as_the_lake_times_the_copies(gold_lake: Settings, tmp_path: Path) -> None:
    tile = _tile_module()
    tiled = tile.tile_lake(gold_lake, tmp_path, TIMES)

    assert tile.check(gold_lake, tiled.settings, TIMES, QUESTIONS) == []
    rows = tiled.gold_rows
    # Order and customer grains are copied whole; a grain without customers keeps the lake's keys.
    for name in ("agg_order_item", "agg_customer_clv_daily", "dim_customer_snapshot"):
        assert rows[name][1] == TIMES * rows[name][0], name
    for name in ("agg_sales_daily", "agg_category_monthly", CALENDAR, ITEMS, RESTAURANTS):
        assert rows[name][1] == rows[name][0], name
    engine = MetricsEngine.open(tiled.settings)
    try:
        guests = engine.query("SELECT count(*) FROM agg_customer_lifetime WHERE user_id IS NULL")
        customers = engine.query("SELECT count(*), count(DISTINCT user_id) FROM agg_customer_lifetime")
    finally:
        engine.close()
    assert guests == [(1,)]
    assert customers[0][0] == customers[0][1] + 1 == rows["agg_customer_lifetime"][1]

    lake_orders = tile.silver_fact_files(gold_lake)["orders"]
    tiled_orders = tiled.silver_facts["orders"]
    connection = duckdb.connect()
    (lake_count,) = connection.execute(f"SELECT count(*) FROM read_parquet({lake_orders!r})").fetchone() or ()
    counted = connection.execute(
        f"SELECT count(*), count(DISTINCT order_id) FROM read_parquet({tiled_orders!r})"
    ).fetchone()
    connection.close()
    assert counted == (TIMES * lake_count, TIMES * lake_count)
