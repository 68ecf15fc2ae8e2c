"""dim_item: one row per item, its canonical name (the most frequent trimmed spelling of its
case-insensitive variants) and its category (the most frequent real one).

Both are chosen from dim_item_spelling, the kept lines counted by item, spelling and category. A run
keeps those counts up to date from the lines it changes (`merge_spellings`) instead of counting every
line Silver holds again, which grew with history.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from bi_contracts.quality import UNKNOWN
from bi_contracts.silver import DIM_ITEM_SPELLING

SPELLING = DIM_ITEM_SPELLING.key


def spellings(lines: DataFrame) -> DataFrame:
    """`lines` (item_key, item_name_source, item_category per kept line) counted by spelling."""
    return lines.groupBy(*SPELLING).agg(F.count(F.lit(1)).alias("lines"))


def merge_spellings(previous: DataFrame, removed: DataFrame, added: DataFrame) -> DataFrame:
    """The counts after a run: `previous` less the `removed` lines (those of the replaced partitions as
    published) plus the `added` ones (those the run leaves there); a spelling no line has is dropped."""
    change = spellings(added).unionByName(spellings(removed).withColumn("lines", -F.col("lines")))
    return (
        previous.select(*SPELLING, "lines")
        .unionByName(change)
        .groupBy(*SPELLING)
        .agg(F.sum("lines").alias("lines"))
        .where(F.col("lines") > 0)
    )


def _most_frequent(counts: DataFrame, value: str, alias: str) -> DataFrame:
    counted = counts.groupBy("item_key", value).agg(F.sum("lines").alias("_n"))
    rank = Window.partitionBy("item_key").orderBy(F.col("_n").desc(), F.col(value))
    return (
        counted.withColumn("_rank", F.row_number().over(rank))
        .where("_rank = 1")
        .select("item_key", F.col(value).alias(alias))
    )


def build(counts: DataFrame) -> DataFrame:
    """dim_item from dim_item_spelling's rows."""
    names = _most_frequent(counts, "item_name_source", "item_name")
    categories = _most_frequent(
        counts.where(F.col("item_category") != UNKNOWN), "item_category", "item_category"
    )
    lines = counts.groupBy("item_key").agg(F.sum("lines").cast("bigint").alias("lines"))
    return (
        lines.join(names, "item_key")
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
