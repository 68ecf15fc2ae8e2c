"""fct_order: one row per order, from its kept lines (docs/metrics.md, *Building blocks*)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bi_transform.silver.fct_order_line import order_date
from bi_transform.silver.money import money


def build(lines: DataFrame) -> DataFrame:
    """Orders: restaurant and app of the earliest line, the customer's non-NULL user_id, loyalty if any
    line is, and the sums of the line amounts."""
    earliest = F.min(F.struct("creation_time_utc", "restaurant_id", "app_name"))
    return (
        lines.groupBy("order_id")
        .agg(
            earliest.alias("_first"),
            F.max("user_id").alias("user_id"),
            F.max(F.col("is_loyalty").cast("int")).cast("boolean").alias("is_loyalty"),
            F.count(F.lit(1)).alias("lines"),
            F.sum(F.col("item_quantity").cast("long")).alias("items"),
            money(F.sum("line_net")).alias("net_amount"),
            money(F.sum("line_gross")).alias("gross_amount"),
            money(F.sum("line_discount")).alias("discount_amount"),
        )
        .select(
            "order_id",
            order_date(F.col("_first.creation_time_utc")).alias("order_date"),
            F.col("_first.creation_time_utc").alias("order_time_utc"),
            F.col("_first.restaurant_id").alias("restaurant_id"),
            F.col("_first.app_name").alias("app_name"),
            "user_id",
            "is_loyalty",
            "lines",
            "items",
            "net_amount",
            "gross_amount",
            "discount_amount",
            (F.col("discount_amount") > 0).alias("is_discounted"),
        )
    )
