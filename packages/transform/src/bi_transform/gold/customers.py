"""Customer analytics as of the snapshot date S, and CLV's daily running totals.

The windows, boundaries, names and segment precedence are declared in `bi_contracts.customers` (see
docs/metrics.md, *Customer analytics*); this applies them. S is the latest order date in Silver, never
the clock. Every customer with a kept order up to S is in the snapshot; those without an order in the
RFM window are `Inactive` and have no RFM scores.
"""

from __future__ import annotations

import datetime as dt
from itertools import accumulate

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bi_contracts.customers import (
    ACTIVE,
    ACTIVE_MAX_DAYS,
    AT_RISK,
    AT_RISK_MAX_DAYS,
    CHURN_RISK,
    CHURNED,
    HIGH,
    HIGH_TIER,
    INACTIVE,
    LOST,
    LOW,
    MEDIUM,
    MEDIUM_TIER,
    NEW,
    NEW_DAYS,
    RFM_DAYS,
    SCORE_TILES,
    SEGMENT_RULES,
    SPEND_DAYS,
    VIP,
    VIP_MIN_SCORE,
)
from bi_contracts.money import TOTAL

# Ranks over every customer. A window ordered without a partitioning key brings every row to one task,
# which is what fails first as the business grows; these give the same values with the rows spread over
# as many tasks as Spark's sort uses. They live here, not in a module of their own, because Gold's
# definitions fingerprint reads this file: a change to how ranks are computed rebuilds Gold.

_TASK, _ROW = "_rank_task", "_rank_row"
# monotonically_increasing_id() holds the task's index above these bits, the row's place in the task
# below (Spark documents this layout).
_ROW_BITS = 33


def with_place(frame: DataFrame, order: list[Column], name: str) -> tuple[DataFrame, int]:
    """`frame` with `name`, each row's 1-based place in `order`, and the number of rows.

    `order` must be a total order (end it with a unique key), so that every place is decided. Spark
    sorts by range partitioning, each task holding one stretch of the order; a row's place is its
    place in its task plus the rows of the tasks before, counted per task and added up on the driver.

    The sorted frame is cached (on disk when memory runs short) before it is counted: each time a sort
    is planned Spark samples its range boundaries anew, so a second sort could put a row in another
    task than the counts assumed. A cached block that is lost is recomputed from the same sort, whose
    boundaries were fixed when it ran. The cache is the session's until it is cleared (the jobs clear
    it at the end of a run), because the places are read when the caller's frame is written.
    """
    sorted_ = (
        frame.orderBy(*order)
        .withColumn(_TASK, F.spark_partition_id())
        .withColumn(_ROW, F.monotonically_increasing_id())
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    per_task: dict[int, int] = {row[0]: row[1] for row in sorted_.groupBy(_TASK).count().collect()}
    before = list(accumulate((per_task.get(task, 0) for task in range(max(per_task, default=0))), initial=0))
    in_task = F.col(_ROW) - F.shiftleft(F.col(_TASK).cast("long"), _ROW_BITS)
    rows_before = F.element_at(F.array(*(F.lit(rows).cast("long") for rows in before)), F.col(_TASK) + 1)
    placed = sorted_.withColumn(name, rows_before + in_task + 1).drop(_TASK, _ROW)
    return placed, sum(per_task.values())


def with_ntile(frame: DataFrame, order: list[Column], tiles: int, name: str) -> DataFrame:
    """`frame` with `name`: NTILE(`tiles`) over `order` (a total order), as Spark's window gives it.

    Tiles hold consecutive places; their sizes differ by one at most, the first (rows mod tiles) tiles
    holding one row more. With fewer rows than tiles, the first rows get tiles 1, 2, ... one each.
    """
    placed, rows = with_place(frame, order, "_place")
    size, larger = divmod(rows, tiles)
    last_places = list(accumulate(size + 1 if tile < larger else size for tile in range(tiles)))
    tile = F.when(F.col("_place") <= last_places[0], 1)
    for number, last in enumerate(last_places[1:-1], start=2):
        tile = tile.when(F.col("_place") <= last, number)
    # The last tile as the rest: no place is past it, and the column is then never NULL, as Spark's is.
    return placed.withColumn(name, tile.otherwise(tiles)).drop("_place")


def with_percent_rank(frame: DataFrame, column: str, name: str, key: str = "user_id") -> DataFrame:
    """`frame` with `name`: PERCENT_RANK() over `column` ascending, as Spark's window gives it.

    (rank - 1) / (rows - 1), 0 for a single row; rows with equal values share the rank of the first of
    them, which is the lowest place among them once `key` (unique) decides the order between them.
    """
    placed, rows = with_place(frame, [F.col(column), F.col(key)], "_place")
    # Partitioned by the value: only the rows of one value meet in a task.
    rank = F.min("_place").over(Window.partitionBy(column))
    percent = (rank - 1).cast("double") / F.lit(rows - 1).cast("double") if rows > 1 else F.lit(0.0)
    # Never NULL (every row has a place, and rows - 1 is not 0 here); the coalesce lets Spark know, so
    # the column is declared not nullable, as its window's is.
    return placed.withColumn(name, F.coalesce(percent, F.lit(0.0))).drop("_place")


def _on_or_after(days_before_s: int, s: Column) -> Column:
    return F.col("order_date") >= F.date_sub(s, days_before_s)


def _sum_when(condition: Column) -> Column:
    return F.coalesce(F.sum(F.when(condition, F.col("net_sales"))), F.lit(0)).cast(TOTAL.sql)


def _rfm_segment(at: Column) -> Column:
    """The first segment in the declared precedence that applies; the last one takes the rest."""
    applies = {
        NEW: F.col("first_order_date") >= F.date_sub(at, NEW_DAYS - 1),
        LOST: F.col("recency_days") > AT_RISK_MAX_DAYS,
        CHURN_RISK: F.col("recency_days") > ACTIVE_MAX_DAYS,
        VIP: (F.col("r_score") >= VIP_MIN_SCORE)
        & (F.col("f_score") >= VIP_MIN_SCORE)
        & (F.col("m_score") >= VIP_MIN_SCORE),
    }
    *conditional, rest = SEGMENT_RULES
    segment = F.when(F.col("r_score").isNull(), INACTIVE)
    for rule in conditional:
        segment = segment.when(applies[rule.name], rule.name)
    return segment.otherwise(rest.name)


def customer_snapshot(days: DataFrame, s: dt.date) -> DataFrame:
    """One row per customer who ordered on or before `s`: lifetime, CLV tier, RFM and churn as of `s`,
    from the customers' days (`customer_days`)."""
    at = F.lit(s)
    per_customer = with_percent_rank(customer_totals(days, s), "clv", "clv_percent_rank")
    return per_customer.join(rfm_scores(per_customer), "user_id", "left").select(
        "user_id",
        at.alias("snapshot_date"),
        "first_order_date",
        "last_order_date",
        "lifetime_orders",
        "clv",
        "clv_percent_rank",
        F.when(F.col("clv_percent_rank") >= HIGH_TIER, HIGH)
        .when(F.col("clv_percent_rank") >= MEDIUM_TIER, MEDIUM)
        .otherwise(LOW)
        .alias("clv_tier"),
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        _rfm_segment(at).alias("rfm_segment"),
        "days_since_last_order",
        F.when(F.col("days_since_last_order") <= ACTIVE_MAX_DAYS, ACTIVE)
        .when(F.col("days_since_last_order") <= AT_RISK_MAX_DAYS, AT_RISK)
        .otherwise(CHURNED)
        .alias("churn_risk"),
        _avg_gap_days().alias("avg_gap_days"),
        "spend_last_30",
        "spend_prev_30",
        _spend_change_pct().alias("spend_change_pct"),
        "loyalty_member",
    )


def customer_days(orders: DataFrame) -> DataFrame:
    """Per customer and order date: that day's orders and net sales, and whether the day's last order
    was a loyalty order. Everything the snapshot and CLV's running totals need of a customer's orders:
    Gold keeps it (`agg_customer_clv_daily`), so a run reads only the orders of the days that changed."""
    return (
        orders.where(F.col("user_id").isNotNull())
        .groupBy("user_id", "order_date")
        .agg(
            F.count(F.lit(1)).alias("orders"),
            F.sum("net_amount").cast(TOTAL.sql).alias("net_sales"),
            F.max_by("is_loyalty", F.struct("order_time_utc", "order_id")).alias("last_order_loyalty"),
        )
    )


def customer_totals(days: DataFrame, s: dt.date) -> DataFrame:
    """Per customer, from the customers' days on or before `s`: lifetime figures, the RFM window's
    frequency and monetary value (`_frequency`, `_monetary`), spend in the last two 30-day windows,
    loyalty."""
    at = F.lit(s)
    in_window = _on_or_after(RFM_DAYS - 1, at)
    last_30 = _on_or_after(SPEND_DAYS - 1, at)
    prev_30 = _on_or_after(2 * SPEND_DAYS - 1, at) & ~last_30
    return (
        days.where(F.col("order_date") <= at)
        .groupBy("user_id")
        .agg(
            F.min("order_date").alias("first_order_date"),
            F.max("order_date").alias("last_order_date"),
            F.sum("orders").alias("lifetime_orders"),
            F.sum("net_sales").cast(TOTAL.sql).alias("clv"),
            F.count(F.lit(1)).alias("_order_dates"),
            F.coalesce(F.sum(F.when(in_window, F.col("orders"))), F.lit(0)).alias("_frequency"),
            _sum_when(in_window).alias("_monetary"),
            _sum_when(last_30).alias("spend_last_30"),
            _sum_when(prev_30).alias("spend_prev_30"),
            # Days are distinct per customer: the latest one's last order is the customer's.
            F.max_by("last_order_loyalty", "order_date").alias("loyalty_member"),
        )
        .withColumn("days_since_last_order", F.datediff(at, F.col("last_order_date")))
    )


def rfm_scores(totals: DataFrame) -> DataFrame:
    """Recency, frequency and monetary value with their quintile scores, for the customers who ordered
    in the RFM window (the others have none: they are Inactive)."""
    rfm = totals.where(F.col("_frequency") > 0).select(
        "user_id",
        F.col("days_since_last_order").alias("recency_days"),
        F.col("_frequency").alias("frequency"),
        F.col("_monetary").alias("monetary"),
    )
    rfm = with_ntile(rfm, [F.col("recency_days").desc(), F.col("user_id")], SCORE_TILES, "r_score")
    rfm = with_ntile(rfm, [F.col("frequency"), F.col("user_id")], SCORE_TILES, "f_score")
    return with_ntile(rfm, [F.col("monetary"), F.col("user_id")], SCORE_TILES, "m_score")


def _avg_gap_days() -> Column:
    """Days between distinct order dates, on average; NULL with one order date."""
    return (
        F.when(
            F.col("_order_dates") > 1,
            F.datediff("last_order_date", "first_order_date") / (F.col("_order_dates") - 1),
        )
    ).cast("double")


def _spend_change_pct() -> Column:
    """Spend in the last 30 days against the 30 before, in percent; NULL when the 30 before had none."""
    prev = F.col("spend_prev_30")
    return F.when(
        prev != 0, (F.col("spend_last_30").cast("double") - prev.cast("double")) / prev.cast("double") * 100
    )


def clv_daily(days: DataFrame, since: dt.date) -> DataFrame:
    """The customers' days from `since` on, each with `clv`: the customer's lifetime net sales to that
    day. The days before count as one total per customer, so only the days rebuilt are ordered."""
    later = days.where(F.col("order_date") >= F.lit(since))
    before = (
        days.where(F.col("order_date") < F.lit(since))
        .groupBy("user_id")
        .agg(F.sum("net_sales").alias("_before"))
    )
    to_date = Window.partitionBy("user_id").orderBy("order_date").rowsBetween(Window.unboundedPreceding, 0)
    running = F.coalesce(F.col("_before"), F.lit(0)) + F.sum("net_sales").over(to_date)
    return later.join(before, "user_id", "left").withColumn("clv", running.cast(TOTAL.sql)).drop("_before")
