"""Customer analytics at S (docs/metrics.md, *Customer analytics*) on crafted customers, through the
real Spark code."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from bi_transform.gold.customers import (
    clv_daily,
    customer_days,
    customer_snapshot,
    with_ntile,
    with_percent_rank,
)

pytestmark = pytest.mark.spark

S = dt.date(2021, 6, 30)  # long before the tests run: S must come from the data, never the clock
ORDERS = (
    "order_id string, order_date date, order_time_utc timestamp, user_id string, "
    "is_loyalty boolean, net_amount decimal(18,2)"
)


def _orders(spark: SparkSession, rows: list[tuple[str, int, str | float, bool]]) -> Any:
    """(user_id, days before S, net amount, is_loyalty) per order; one order also anchors S itself."""
    data = []
    for number, (user, days_before, amount, loyalty) in enumerate(rows):
        day = S - dt.timedelta(days=days_before)
        moment = dt.datetime.combine(day, dt.time(12, 0)) + dt.timedelta(seconds=number)
        data.append((f"o{number:04d}", day, moment, user, loyalty, Decimal(str(amount))))
    return spark.createDataFrame(data, ORDERS)


def _snapshot(spark: SparkSession, rows: list[tuple[str, int, str | float, bool]]) -> dict[str, Any]:
    orders = _orders(spark, rows)
    return {row["user_id"]: row for row in customer_snapshot(customer_days(orders), S).collect()}


def test_guests_are_not_customers(spark: SparkSession) -> None:
    orders = _orders(spark, [("a", 3, 10, False), ("b", 0, 5, False)])
    guest = spark.createDataFrame(
        [("g1", S, dt.datetime.combine(S, dt.time(13)), None, False, Decimal("7.00"))], ORDERS
    )
    every = orders.unionByName(guest)
    rows = customer_snapshot(customer_days(every), S).collect()
    assert sorted(row["user_id"] for row in rows) == ["a", "b"]
    assert {row["snapshot_date"] for row in rows} == {S}


def test_clv_tiers_at_the_0_2_and_0_8_boundaries(spark: SparkSession) -> None:
    # Six customers with distinct CLV: PERCENT_RANK is exactly 0, 0.2, 0.4, 0.6, 0.8 and 1.
    customers = _snapshot(spark, [(f"u{i}", i, 10 * (i + 1), False) for i in range(6)])
    ranks = {user: row["clv_percent_rank"] for user, row in customers.items()}
    assert ranks == {"u0": 0.0, "u1": 0.2, "u2": 0.4, "u3": 0.6, "u4": 0.8, "u5": 1.0}
    tiers = {user: row["clv_tier"] for user, row in customers.items()}
    assert tiers == {"u0": "Low", "u1": "Medium", "u2": "Medium", "u3": "Medium", "u4": "High", "u5": "High"}
    assert customers["u5"]["clv"] == Decimal("60.00")


def test_rfm_ties_are_broken_by_user_id(spark: SparkSession) -> None:
    # Five customers alike in recency, frequency and money: the scores follow user_id order.
    users = ["e", "c", "a", "d", "b"]
    customers = _snapshot(spark, [(user, 0, 20, False) for user in users])
    for score in ("r_score", "f_score", "m_score"):
        assert [customers[user][score] for user in "abcde"] == [1, 2, 3, 4, 5], score


def test_churn_risk_boundaries(spark: SparkSession) -> None:
    customers = _snapshot(
        spark,
        [("now", 0, 10, False), ("d45", 45, 10, False), ("d46", 46, 10, False), ("d90", 90, 10, False),
         ("d91", 91, 10, False)],
    )  # fmt: skip
    assert {user: (row["days_since_last_order"], row["churn_risk"]) for user, row in customers.items()} == {
        "now": (0, "active"),
        "d45": (45, "active"),
        "d46": (46, "at_risk"),
        "d90": (90, "at_risk"),
        "d91": (91, "churned"),
    }


def test_spend_change_windows_and_a_zero_previous_period(spark: SparkSession) -> None:
    customers = _snapshot(
        spark,
        [
            ("growing", 0, 150, False), ("growing", 30, 100, False),
            ("no_previous", 29, 50, False), ("no_previous", 60, 999, False),
            ("stopped", 59, 100, False), ("stopped", 200, 1, False),
        ],
    )  # fmt: skip
    growing, no_previous, stopped = customers["growing"], customers["no_previous"], customers["stopped"]
    assert (growing["spend_last_30"], growing["spend_prev_30"]) == (Decimal("150.00"), Decimal("100.00"))
    assert growing["spend_change_pct"] == pytest.approx(50.0)
    # S-29 is the last 30 days; S-60 is in neither window, so the previous period is 0.
    assert (no_previous["spend_last_30"], no_previous["spend_prev_30"]) == (Decimal("50.00"), Decimal("0.00"))
    assert no_previous["spend_change_pct"] is None
    assert stopped["spend_prev_30"] == Decimal("100.00") and stopped["spend_change_pct"] == pytest.approx(
        -100.0
    )


def test_segment_precedence_new_then_lost_then_churn_risk_then_vip_and_inactive(spark: SparkSession) -> None:
    rows: list[tuple[str, int, str | float, bool]] = [
        (f"filler{i:02d}", 100 + i, 5, False) for i in range(10)
    ]
    rows += [("vip", days, 100, False) for days in (1, 30, 60, 90, 120, 150, 200)]
    rows += [("new_big", days, 100, False) for days in (2, 4, 6, 8, 10, 12, 29)]
    rows += [("churning", days, 100, False) for days in (46, 60, 90, 120, 150, 200, 300)]
    rows += [("regular", 20, 1, False), ("regular", 200, 1, False)]
    # The churn indicators' boundaries: active up to 45 days, at risk 46-90, churned beyond.
    rows += [
        ("edge45", 45, 1, False),
        ("edge46", 46, 1, False),
        ("edge90", 90, 1, False),
        ("edge91", 91, 1, False),
    ]
    rows += [("gone", 400, 1000, True), ("just_new", 0, 1, False)]
    customers = _snapshot(spark, rows)

    def scores(user: str) -> tuple[int, int, int]:
        return customers[user]["r_score"], customers[user]["f_score"], customers[user]["m_score"]

    # Preconditions: the New and Churn Risk customers would be VIP by their scores alone.
    assert min(scores("new_big")) >= 4 and min(scores("churning")) >= 4 and min(scores("vip")) >= 4
    segments = {user: row["rfm_segment"] for user, row in customers.items()}
    assert segments["new_big"] == "New"
    assert segments["just_new"] == "New"
    assert segments["churning"] == "Churn Risk"
    assert segments["vip"] == "VIP"
    assert segments["regular"] == "Regular"
    assert {segments[f"filler{i:02d}"] for i in range(10)} == {"Lost"}
    assert [segments[f"edge{days}"] for days in (45, 46, 90, 91)] == [
        "Regular",
        "Churn Risk",
        "Churn Risk",
        "Lost",
    ]
    churn = {user: row["churn_risk"] for user, row in customers.items()}
    assert [churn[f"edge{days}"] for days in (45, 46, 90, 91)] == ["active", "at_risk", "at_risk", "churned"]
    # No order in the 365 days to S: Inactive, no RFM, but still a customer with a CLV.
    gone = customers["gone"]
    assert segments["gone"] == "Inactive"
    assert (gone["recency_days"], gone["frequency"], gone["monetary"], gone["r_score"]) == (
        None,
        None,
        None,
        None,
    )
    assert (
        gone["clv"] == Decimal("1000.00") and gone["churn_risk"] == "churned" and gone["clv_tier"] == "High"
    )
    assert customers["new_big"]["frequency"] == 7 and customers["new_big"]["monetary"] == Decimal("700.00")


def test_average_gap_and_loyalty_of_the_most_recent_order(spark: SparkSession) -> None:
    customers = _snapshot(
        spark,
        [
            ("three_dates", 10, 1, True), ("three_dates", 4, 1, True), ("three_dates", 0, 1, False),
            ("one_date", 3, 1, True), ("one_date", 3, 1, True),
            ("later_that_day", 1, 1, True), ("later_that_day", 1, 1, False), ("later_that_day", 5, 1, True),
        ],
    )  # fmt: skip
    assert customers["three_dates"]["avg_gap_days"] == pytest.approx(5.0)
    assert customers["one_date"]["avg_gap_days"] is None
    assert customers["three_dates"]["loyalty_member"] is False
    assert customers["one_date"]["loyalty_member"] is True
    assert customers["one_date"]["lifetime_orders"] == 2
    # The last order of the last day decides, not the day's first.
    assert customers["later_that_day"]["loyalty_member"] is False


def test_clv_evolves_as_a_running_total(spark: SparkSession) -> None:
    orders = _orders(
        spark, [("a", 10, 5, False), ("a", 10, 7, True), ("a", 2, 1.5, False), ("b", 0, 3, False)]
    )
    days = customer_days(orders)
    rows = sorted(tuple(row) for row in clv_daily(days, S - dt.timedelta(days=10)).collect())
    assert rows == [
        ("a", S - dt.timedelta(days=10), 2, Decimal("12.00"), True, Decimal("12.00")),
        ("a", S - dt.timedelta(days=2), 1, Decimal("1.50"), False, Decimal("13.50")),
        ("b", S, 1, Decimal("3.00"), False, Decimal("3.00")),
    ]
    # From a later day on: the days before count in the totals, and are not rebuilt.
    later = sorted(tuple(row) for row in clv_daily(days, S - dt.timedelta(days=5)).collect())
    assert later == rows[1:]


@pytest.mark.parametrize("customers", [0, 1, 2, 4, 5, 6, 7, 11, 3001])
def test_ranks_spread_over_tasks_equal_spark_windows_over_every_row(
    spark: SparkSession, customers: int
) -> None:
    # Few distinct values, so most rows tie; some values NULL; rows in several partitions.
    pick = random.Random(customers)
    rows = [
        (f"u{pick.randrange(10**6):06d}-{i}", pick.choice([None, *range(9)]), pick.randrange(6))
        for i in range(customers)
    ]
    frame = (
        spark.createDataFrame(rows, "user_id string, clv int, days int")
        .withColumn("clv", F.col("clv").cast("decimal(28,2)"))
        .repartition(3)
    )
    ours = with_percent_rank(frame, "clv", "rank")
    ours = with_ntile(ours, [F.col("days").desc(), F.col("user_id")], 5, "r")
    ours = with_ntile(ours, [F.col("clv"), F.col("user_id")], 5, "m")
    spark_windows = (
        frame.withColumn("rank", F.percent_rank().over(Window.orderBy("clv")))
        .withColumn("r", F.ntile(5).over(Window.orderBy(F.col("days").desc(), "user_id")))
        .withColumn("m", F.ntile(5).over(Window.orderBy("clv", "user_id")))
    )
    assert ours.schema == spark_windows.schema
    assert sorted(ours.collect()) == sorted(spark_windows.collect())


def test_tiles_differ_by_one_row_at_most_the_first_ones_larger(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(f"u{i}",) for i in range(7)], "user_id string").repartition(3)
    tiles = with_ntile(frame, [F.col("user_id")], 5, "tile")
    assert [row["tile"] for row in tiles.orderBy("user_id").collect()] == [1, 1, 2, 2, 3, 4, 5]
