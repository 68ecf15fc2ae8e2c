"""The whole pipeline on sources Hypothesis generates: whatever shape an export has, the run completes,
every row ends in one place, and Gold equals the test's own SQL over the source.

Each example is two runs through real SQLite, real Parquet and a real SparkSession: the first export
(ingest and Silver), then what arrives and changes before the next run (ingest, Silver and Gold, the
lookback extracting every line again). The default profile runs a few generated examples besides the
fixed ones below; `BI_PROPERTY_PROFILE=deep uv run pytest tests/properties` runs many more
(`fixed`: only the fixed cases). Every example that ever failed stays below as a fixed case, named
for what it caught.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, settings
from pyspark.sql import SparkSession

from bi_lake.runs import RunReport
from bi_lake.settings import Settings
from bi_metrics.engine import MetricsEngine
from bi_metrics.formatting import Value
from bi_metrics.question import Question
from bi_transform.silver.job import open_store
from tests.conftest import gold_contents, silver_contents
from tests.properties.sources import (
    BY_RESTAURANT,
    COUNTS,
    DAILY,
    HOUR_MS,
    LOYALTY_MEMBERS,
    LOYALTY_PERIODS,
    MAX_PRICE_CENTS,
    Change,
    Line,
    Option,
    Order,
    Source,
    answer,
    apply_later,
    create,
    hex_id,
    sources,
)
from tests.running import run_pipeline

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

_COMMON = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("default", _COMMON, max_examples=3)
# CI tries the same examples on every run, so a submission lands or not on its own merits.
settings.register_profile("ci", _COMMON, max_examples=3, derandomize=True)
settings.register_profile("deep", _COMMON, max_examples=60)
# Only the fixed cases: the quickest regression run.
settings.register_profile("fixed", _COMMON, phases=[Phase.explicit])
PROFILE = os.environ.get("BI_PROPERTY_PROFILE", "ci" if os.environ.get("CI") else "default")

CUSTOMER, OTHER, RESTAURANT, LONE_RESTAURANT = hex_id(0xC0), hex_id(0xC1), hex_id(0xA0), hex_id(0xA1)
DISCOUNT = Option("$2 off", -200, 1, "Promo")


def _line(order: int, line: int, price: int = 1_000, quantity: int = 1, **values: Any) -> Line:
    values.setdefault("lineitem_id", f"{order:012x}{line:012x}")
    return Line(price_cents=price, quantity=quantity, **values)


def _order(number: int, instant_ms: int, loyal: bool, *lines: Line, **values: Any) -> Order:
    values = {"restaurant_id": RESTAURANT, "user_id": CUSTOMER, **values}
    return Order(
        hex_id(number), instant_ms=instant_ms, is_loyalty=loyal, lines=lines or (_line(number, 0),), **values
    )


# Three orders of one customer at one instant, loyalty mixed so that by order id it flips twice (the
# contract failure of dim_customer's (user_id, valid_from) key); another customer whose status flips on
# every order; an order whose lines straddle midnight UTC; a day of guests only; a restaurant with one
# order; options on a line voided later; lines exported twice; extreme and unicode values.
SAME_INSTANT = Source(
    orders=(
        _order(3, 0, False),
        _order(1, 0, False),
        _order(2, 0, True, _line(2, 0, options=(DISCOUNT,)), _line(2, 1, 250, 2, copies=2)),
        _order(4, HOUR_MS, True),
        *(_order(10 + n, n * 60_000, n % 2 == 0, user_id=OTHER) for n in range(4)),
        _order(20, 2 * HOUR_MS - 1, True, _line(20, 0), _line(20, 1, offset_ms=2)),
        _order(21, 3 * HOUR_MS, False, _line(21, 0, options=(DISCOUNT, Option("Extra Cheese", 150, 2)))),
        _order(22, 30 * HOUR_MS, False, user_id=None),
        _order(23, 30 * HOUR_MS, False, _line(23, 0, MAX_PRICE_CENTS, 2_147_483_647), user_id=None),
        _order(
            24,
            5 * HOUR_MS,
            True,
            _line(24, 0, 899, name="Crème brûlée 🍮", category="  "),
            restaurant_id=LONE_RESTAURANT,
            app_name="Kiosk – Café ☕",
        ),
    ),
    later=(
        _order(100, 0, False),  # late, at the instant of the first three
        _order(101, 50 * HOUR_MS, True, user_id=OTHER),
    ),
    changes=(
        Change(_line(21, 0).lineitem_id or "", "void"),
        Change(_line(2, 1).lineitem_id or "", "price", 99),
    ),
    orphan_options=((hex_id(1), "f" * 24, DISCOUNT),),
    calendar_days=1,
)

# Nothing survives the rules: a customer with only quarantined lines (a test app, a line of quantity 0,
# a negative price, another currency), an option on a line that is never kept, and no calendar. Two
# lines without a key in one order, one of them exported twice: each row is quarantined on its own
# (the generator found the reference counting them as one line's versions).
NOTHING_KEPT = Source(
    orders=(
        _order(1, 0, True, app_name="Web - DEVELOPMENT"),
        _order(2, 10, False, _line(2, 0, quantity=0, options=(DISCOUNT,)), _line(2, 1, price=-1)),
        _order(3, 20, False, _line(3, 0, currency="EUR"), _line(3, 1, lineitem_id=None)),
        _order(4, 30, False, _line(4, 0, lineitem_id=None, copies=2), _line(4, 1, lineitem_id=None)),
    )
)

EMPTY = Source(orders=())


def _run(settings_: Settings, **options: Any) -> RunReport:
    report = run_pipeline(settings_, **options)
    assert report.status == "succeeded", report.error
    return report


def _reconciliation(report: RunReport, table: str) -> dict[str, Any]:
    silver = next(job for job in report.jobs if job.job == "silver")
    return dict(silver.details.get("reconciliation", {}).get(table, {}))


def _cents(value: Value) -> int:
    assert value is None or isinstance(value, Decimal), value
    return int((value or Decimal(0)) * 100)


def _day(value: Value) -> str:
    assert isinstance(value, dt.date), value
    return value.isoformat()


def _gold_answers(engine: MetricsEngine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    daily = engine.ask(
        Question(
            (
                "orders",
                "net_sales",
                "gross_sales",
                "discount_amount",
                "items_sold",
                "customers",
                "loyalty_orders",
            ),
            by=("order_date",),
        )
    )
    by_restaurant = engine.ask(Question(("orders", "net_sales", "customers"), by=("restaurant_id",)))
    return (
        sorted(
            (_day(day), orders, _cents(net), _cents(gross), _cents(discount), items, customers, loyal)
            for day, orders, net, gross, discount, items, customers, loyal in daily.rows
        ),
        sorted((rid, orders, _cents(net), customers) for rid, orders, net, customers in by_restaurant.rows),
    )


def _silver_rows(
    spark: SparkSession, settings_: Settings, table: str, columns: list[str]
) -> list[tuple[Any, ...]]:
    store = open_store(settings_)
    frame = store.read(spark, store.state(), table)
    return sorted(tuple(row) for row in frame.select(*columns).collect()) if frame is not None else []


def _two_runs(source: Source, root: Path) -> tuple[sa.Engine, Settings, RunReport, RunReport]:
    """The first export through Silver, then what arrives and changes, through Gold."""
    engine = create(root / "source.db", source)
    lake = Settings(source_url=f"sqlite:///{root / 'source.db'}", lake=str(root / "lake"))
    first = _run(lake, only=("ingest", "silver"))
    apply_later(engine, source)
    return engine, lake, first, _run(lake)


def check_pipeline(spark: SparkSession, source: Source, root: Path) -> None:
    engine, lake, first, second = _two_runs(source, root)

    # The books balance in every run, and the second run extracted every line again: each source row
    # ends kept, a recorded duplicate or quarantined.
    for report in (first, second):
        for table in ("order_items", "order_item_options"):
            counts = _reconciliation(report, table)
            assert counts.get("balanced", True), (table, counts)
    rows, kept, quarantined, kept_options = answer(engine, COUNTS)[0]
    lines = _reconciliation(second, "order_items")
    assert lines.get("extracted", 0) == rows
    silver = next(job for job in second.jobs if job.job == "silver")
    if silver.details.get("changed") is False:
        # Nothing arrived or changed: every re-read line is one Silver holds as it is.
        assert lines.get("duplicates", 0) == rows
    else:
        assert (lines.get("kept", 0), lines.get("quarantined", 0)) == (kept, quarantined)
    assert len(_silver_rows(spark, lake, "fct_order_line", ["order_id", "lineitem_id"])) == kept
    assert len(_silver_rows(spark, lake, "fct_order_option", ["order_id"])) == kept_options

    # Gold equals the test's SQL over the source, to the cent.
    metrics = MetricsEngine.open(lake)
    try:
        daily, by_restaurant = _gold_answers(metrics)
        members = metrics.query("SELECT user_id, loyalty_member FROM dim_customer_snapshot ORDER BY user_id")
    finally:
        metrics.close()
    assert daily == [tuple(row) for row in answer(engine, DAILY)]
    assert by_restaurant == [tuple(row) for row in answer(engine, BY_RESTAURANT)]

    # Loyalty: a period per change of status in the order of (order time, order id), one per instant at
    # most; the current period's status is the loyalty member at S.
    expected_members = [(user, bool(loyal)) for user, loyal in answer(engine, LOYALTY_MEMBERS)]
    assert [(user, bool(loyal)) for user, loyal in members] == expected_members
    periods = _silver_rows(spark, lake, "dim_customer", ["user_id", "loyalty_member", "valid_from"])
    expected_periods = sorted(
        (user, bool(loyal), dt.datetime.fromisoformat(time))
        for user, loyal, time in answer(engine, LOYALTY_PERIODS)
    )
    assert periods == expected_periods
    current = _silver_rows(spark, lake, "dim_customer", ["user_id", "loyalty_member", "is_current"])
    assert [(user, member) for user, member, is_current in current if is_current] == expected_members
    engine.dispose()


@settings(settings.get_profile(PROFILE))
@given(source=sources())
@example(source=SAME_INSTANT)
@example(source=NOTHING_KEPT)
@example(source=EMPTY)
def test_any_source_runs_balances_and_matches_sql(spark: SparkSession, source: Source) -> None:
    with tempfile.TemporaryDirectory(prefix="bi-property-") as root:
        check_pipeline(spark, source, Path(root))


def test_incremental_runs_equal_a_full_refresh_with_orders_at_one_instant(
    spark: SparkSession, tmp_path: Path
) -> None:
    engine, lake, _, _ = _two_runs(SAME_INSTANT, tmp_path)
    incremental = (silver_contents(lake), gold_contents(lake))
    _run(lake, full_refresh=True)
    assert (silver_contents(lake), gold_contents(lake)) == incremental
    engine.dispose()


def test_the_fixed_cases_hold_the_shapes_they_are_named_for() -> None:
    """The regression cases keep covering what they were written for, whatever else changes."""
    same_instant = [o for o in SAME_INSTANT.orders if o.user_id == CUSTOMER and o.instant_ms == 0]
    assert {o.is_loyalty for o in same_instant} == {True, False} and len(same_instant) >= 3
    by_id = [o.is_loyalty for o in sorted(same_instant, key=lambda o: o.order_id)]
    assert sum(a != b for a, b in itertools.pairwise(by_id)) >= 2
    guests_day = [o for o in SAME_INSTANT.orders if o.instant_ms >= 26 * HOUR_MS]
    assert guests_day and all(o.user_id is None for o in guests_day)
    assert sum(o.restaurant_id == LONE_RESTAURANT for o in SAME_INSTANT.orders) == 1
    voided = {c.lineitem_id for c in SAME_INSTANT.changes if c.kind == "void"}
    assert any(line.lineitem_id in voided and line.options for o in SAME_INSTANT.orders for line in o.lines)
    assert any(line.copies > 1 for o in SAME_INSTANT.orders for line in o.lines)
    assert not EMPTY.orders and not NOTHING_KEPT.later
