"""Customer analytics as of the snapshot date S, and CLV's daily running totals.

The windows, boundaries, names and segment precedence are declared in `bi_metrics.customers` (see
docs/metrics.md, *Customer analytics*); this applies them. S is the latest order date in Silver, never
the clock. Every customer with a kept order up to S is in the snapshot; those without an order in the
RFM window are `Inactive` and have no RFM scores.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bi_metrics.customers import (
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


def snapshot_date(orders: DataFrame) -> dt.date | None:
    row = orders.agg(F.max("order_date")).first()
    return row[0] if row else None


def _on_or_after(days_before_s: int, s: Column) -> Column:
    return F.col("order_date") >= F.date_sub(s, days_before_s)


def _sum_when(condition: Column) -> Column:
    return F.coalesce(F.sum(F.when(condition, F.col("net_amount"))), F.lit(0)).cast("decimal(28,2)")


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


def customer_snapshot(orders: DataFrame, s: dt.date) -> DataFrame:
    at = F.lit(s)
    in_window = _on_or_after(RFM_DAYS - 1, at)
    last_30 = _on_or_after(SPEND_DAYS - 1, at)
    prev_30 = _on_or_after(2 * SPEND_DAYS - 1, at) & ~last_30
    per_customer = (
        orders.where(F.col("user_id").isNotNull() & (F.col("order_date") <= at))
        .groupBy("user_id")
        .agg(
            F.min("order_date").alias("first_order_date"),
            F.max("order_date").alias("last_order_date"),
            F.count(F.lit(1)).alias("lifetime_orders"),
            F.sum("net_amount").cast("decimal(28,2)").alias("clv"),
            F.count_distinct("order_date").alias("_order_dates"),
            F.count(F.when(in_window, 1)).alias("_frequency"),
            _sum_when(in_window).alias("_monetary"),
            _sum_when(last_30).alias("spend_last_30"),
            _sum_when(prev_30).alias("spend_prev_30"),
            F.max_by("is_loyalty", F.struct("order_time_utc", "order_id")).alias("loyalty_member"),
        )
        .withColumn("days_since_last_order", F.datediff(at, F.col("last_order_date")))
        .withColumn("clv_percent_rank", F.percent_rank().over(Window.orderBy("clv")))
    )
    active = F.col("_frequency") > 0
    rfm = per_customer.where(active).select(
        "user_id",
        F.col("days_since_last_order").alias("recency_days"),
        F.col("_frequency").alias("frequency"),
        F.col("_monetary").alias("monetary"),
        F.ntile(SCORE_TILES)
        .over(Window.orderBy(F.col("days_since_last_order").desc(), "user_id"))
        .alias("r_score"),
        F.ntile(SCORE_TILES).over(Window.orderBy("_frequency", "user_id")).alias("f_score"),
        F.ntile(SCORE_TILES).over(Window.orderBy("_monetary", "user_id")).alias("m_score"),
    )
    prev = F.col("spend_prev_30")
    return per_customer.join(rfm, "user_id", "left").select(
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
        F.when(
            F.col("_order_dates") > 1,
            F.datediff("last_order_date", "first_order_date") / (F.col("_order_dates") - 1),
        )
        .cast("double")
        .alias("avg_gap_days"),
        "spend_last_30",
        "spend_prev_30",
        F.when(
            prev != 0,
            (F.col("spend_last_30").cast("double") - prev.cast("double")) / prev.cast("double") * 100,
        ).alias("spend_change_pct"),
        "loyalty_member",
    )


def clv_daily(orders: DataFrame) -> DataFrame:
    """Per customer and order date: that day's orders and net sales, and the lifetime total to that day."""
    daily = (
        orders.where(F.col("user_id").isNotNull())
        .groupBy("user_id", "order_date")
        .agg(F.count(F.lit(1)).alias("orders"), F.sum("net_amount").cast("decimal(28,2)").alias("net_sales"))
    )
    to_date = Window.partitionBy("user_id").orderBy("order_date").rowsBetween(Window.unboundedPreceding, 0)
    return daily.withColumn("clv", F.sum("net_sales").over(to_date).cast("decimal(28,2)"))
