"""fct_order_line: one row per kept order line, with its option amounts and the building blocks the
metrics are defined over (`bi_metrics.catalogue.BUILDING_BLOCKS`; docs/metrics.md, *Building blocks*)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bi_transform.silver.money import money, zero
from bi_transform.silver.rules import LINE_KEY


def order_date(earliest_line: Column) -> Column:
    """The order-date rule, written once: the UTC date of the creation time of the order's earliest line
    (Spark's session time zone is UTC, see bi_transform.spark)."""
    return F.to_date(earliest_line)


def order_dates(lines: DataFrame) -> DataFrame:
    """order_id -> order_date."""
    return lines.groupBy("order_id").agg(order_date(F.min("creation_time_utc")).alias("order_date"))


def build(lines: DataFrame, options: DataFrame) -> DataFrame:
    """Lines (repaired, one per key) with their option amounts and order date.

    The line keeps its item's key and its own (trimmed) spelling; the canonical name, which can change
    as spellings accumulate, lives in dim_item alone, so partitions written earlier never disagree.

    line_net = item_price + option_amount; line_gross = item_price + the positive option amounts;
    line_discount = minus the negative option amounts.
    """
    amounts = options.groupBy(*LINE_KEY).agg(
        F.sum("option_amount").alias("option_amount"),
        F.sum(F.when(F.col("option_amount") > 0, F.col("option_amount"))).alias("_positive"),
        F.sum(F.when(F.col("option_amount") < 0, -F.col("option_amount"))).alias("_negative"),
    )
    first = Window.partitionBy("order_id")
    return lines.join(amounts, list(LINE_KEY), "left").select(
        "order_id",
        "lineitem_id",
        order_date(F.min("creation_time_utc").over(first)).alias("order_date"),
        "creation_time_utc",
        "restaurant_id",
        "app_name",
        "user_id",
        "is_loyalty",
        "printed_card_number",
        "item_key",
        F.col("item_name").alias("item_name_source"),
        "item_category",
        "item_price",
        "item_quantity",
        money(F.coalesce(F.col("option_amount"), zero())).alias("option_amount"),
        money(F.col("item_price") + F.coalesce(F.col("option_amount"), zero())).alias("line_net"),
        money(F.col("item_price") + F.coalesce(F.col("_positive"), zero())).alias("line_gross"),
        money(F.coalesce(F.col("_negative"), zero())).alias("line_discount"),
        F.col("_extracted_at").alias("extracted_at"),
        F.col("_run_id").alias("ingest_run_id"),
    )
