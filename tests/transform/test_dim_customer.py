"""dim_customer's loyalty periods on a real SparkSession: one period per change of status in the order
of (order time, order id), at most one per instant, and the contract it must meet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from pyspark.sql import DataFrame, SparkSession

from bi_contracts.silver import DIM_CUSTOMER
from bi_transform.silver import contracts, dim_customer

pytestmark = pytest.mark.spark

NOON = dt.datetime(2024, 3, 9, 12, 0, 0)
SCHEMA = "user_id string, order_id string, order_time_utc timestamp, order_date date, is_loyalty boolean"


def orders(spark: SparkSession, rows: Sequence[tuple[str | None, str, dt.datetime, bool]]) -> DataFrame:
    return spark.createDataFrame(
        [(user, order, time, time.date(), loyal) for user, order, time, loyal in rows], SCHEMA
    )


def periods(frame: DataFrame) -> list[tuple[bool, dt.datetime, dt.datetime | None, bool]]:
    built = dim_customer.build(frame).orderBy("valid_from").collect()
    return [(r.loyalty_member, r.valid_from, r.valid_to, r.is_current) for r in built]


def test_orders_at_one_instant_open_one_period_with_the_status_of_the_last_by_order_id(
    spark: SparkSession,
) -> None:
    later = NOON + dt.timedelta(hours=1)
    # By order id the status flips twice within the instant: False, True, False.
    frame = orders(
        spark,
        [
            ("u", "o3", NOON, False),
            ("u", "o1", NOON, False),
            ("u", "o2", NOON, True),
            ("u", "o4", later, True),
        ],
    )
    assert periods(frame) == [(False, NOON, later, False), (True, later, None, True)]
    assert contracts.check("dim_customer", contracts.schema_of(DIM_CUSTOMER), dim_customer.build(frame)) == 2


def test_an_instant_whose_last_order_keeps_the_status_opens_no_period(spark: SparkSession) -> None:
    later = NOON + dt.timedelta(seconds=1)
    frame = orders(spark, [("u", "a", NOON, True), ("u", "b", later, False), ("u", "c", later, True)])
    assert periods(frame) == [(True, NOON, None, True)]


def test_a_status_flipping_on_every_order_opens_a_period_each_time(spark: SparkSession) -> None:
    times = [NOON + dt.timedelta(minutes=n) for n in range(4)]
    frame = orders(spark, [("u", f"o{n}", time, n % 2 == 0) for n, time in enumerate(times)])
    assert [(member, start) for member, start, _, _ in periods(frame)] == [
        (n % 2 == 0, time) for n, time in enumerate(times)
    ]


def test_the_current_status_is_the_loyalty_member_of_the_latest_order_by_time_then_id(
    spark: SparkSession,
) -> None:
    frame = orders(
        spark,
        [("u", "b", NOON, True), ("u", "a", NOON, False), ("v", "x", NOON, True), (None, "g", NOON, True)],
    )
    built = dim_customer.build(frame)
    current = {r.user_id: r.loyalty_member for r in built.where("is_current").collect()}
    assert current == {"u": True, "v": True}
    assert {r.user_id: r.orders for r in built.collect()} == {"u": 2, "v": 1}


def test_a_merge_rebuilds_the_customers_of_the_changed_orders_as_a_build_of_all_would(
    spark: SparkSession,
) -> None:
    later = NOON + dt.timedelta(days=1)
    before = [
        ("kept", "k1", NOON, False),
        ("kept", "k2", later, True),
        ("switched", "s1", NOON, False),
        ("moved away", "m1", later, True),
    ]
    # The run replaces the later day: 'switched' gains a loyal order there, 'moved away' loses his only
    # order, 'new' arrives; 'kept' has an order there that the run leaves as it was.
    after = [*before[:3], ("switched", "s2", later, True), ("new", "n1", later, False)]
    previous = dim_customer.build(orders(spark, before))
    changed = orders(spark, [row for row in before + after if row[2] == later])
    merged = dim_customer.merge(previous, orders(spark, after), changed)
    rebuilt = dim_customer.build(orders(spark, after))
    assert sorted(merged.collect()) == sorted(rebuilt.collect())
    assert {row.user_id for row in merged.collect()} == {"kept", "switched", "new"}
