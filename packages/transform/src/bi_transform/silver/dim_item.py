"""dim_item: one row per item, its canonical name (the most frequent trimmed spelling of its
case-insensitive variants) and its category (the most frequent real one)."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from bi_contracts.quality import UNKNOWN


def _most_frequent(lines: DataFrame, value: str, alias: str) -> DataFrame:
    counted = lines.groupBy("item_key", value).agg(F.count(F.lit(1)).alias("_n"))
    rank = Window.partitionBy("item_key").orderBy(F.col("_n").desc(), F.col(value))
    return (
        counted.withColumn("_rank", F.row_number().over(rank))
        .where("_rank = 1")
        .select("item_key", F.col(value).alias(alias))
    )


def build(lines: DataFrame) -> DataFrame:
    """`lines` needs item_key, item_name_source and item_category for every kept line."""
    names = _most_frequent(lines, "item_name_source", "item_name")
    categories = _most_frequent(
        lines.where(F.col("item_category") != UNKNOWN), "item_category", "item_category"
    )
    counts = lines.groupBy("item_key").agg(F.count(F.lit(1)).alias("lines"))
    return (
        counts.join(names, "item_key")
        .join(categories, "item_key", "left")
        .select(
            "item_key",
            "item_name",
            F.coalesce("item_category", F.lit(UNKNOWN)).alias("item_category"),
            "lines",
        )
    )


def canonical_names(dim_item: DataFrame) -> DataFrame:
    return dim_item.select("item_key", F.col("item_name").alias("canonical_name"))
