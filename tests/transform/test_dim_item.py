"""dim_item and its spelling counts on a real SparkSession: the most frequent spelling and real
category win, and counts kept up to date from the changed lines give what counting every line gives."""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession

from bi_contracts.quality import UNKNOWN
from bi_contracts.silver import DIM_ITEM, DIM_ITEM_SPELLING
from bi_transform.silver import contracts, dim_item

pytestmark = pytest.mark.spark

SCHEMA = "item_key string, item_name_source string, item_category string"


def lines(spark: SparkSession, rows: list[tuple[str, str, str]]) -> DataFrame:
    return spark.createDataFrame(rows, SCHEMA)


def test_the_most_frequent_spelling_and_real_category_name_the_item(spark: SparkSession) -> None:
    counts = dim_item.spellings(
        lines(
            spark,
            [
                ("tea", "Tea", UNKNOWN),
                ("tea", "Tea", UNKNOWN),
                ("tea", "Tea", "Drinks"),
                ("tea", "TEA", "Drinks"),
                # Equally frequent: the first in sort order.
                ("pie", "Pie", "Dessert"),
                ("pie", "PIE", "Dessert"),
                ("soup", "Soup", UNKNOWN),
            ],
        )
    )
    assert contracts.check("dim_item_spelling", contracts.schema_of(DIM_ITEM_SPELLING), counts) == 6
    items = dim_item.build(counts)
    assert sorted(tuple(row) for row in items.collect()) == [
        ("pie", "PIE", "Dessert", 2),
        ("soup", "Soup", UNKNOWN, 1),
        ("tea", "Tea", "Drinks", 4),
    ]
    assert contracts.check("dim_item", contracts.schema_of(DIM_ITEM), items) == 3


def test_merged_counts_equal_the_counts_of_every_line_left(spark: SparkSession) -> None:
    kept = [("tea", "Tea", "Drinks")] * 3 + [("pie", "Pie", "Dessert")]
    replaced_before = [("tea", "TEA", "Drinks")] * 4 + [("soup", "Soup", UNKNOWN)]
    # The run leaves one of the replaced lines, changes two spellings, drops soup, adds a new item.
    left = [
        ("tea", "TEA", "Drinks"),
        ("tea", "Tea", "Drinks"),
        ("pie", "PIE", "Dessert"),
        ("cake", "Cake", "Dessert"),
    ]
    previous = dim_item.spellings(lines(spark, kept + replaced_before))
    merged = dim_item.merge_spellings(previous, lines(spark, replaced_before), lines(spark, left))
    counted = dim_item.spellings(lines(spark, kept + left))
    assert sorted(merged.collect()) == sorted(counted.collect())
    # A spelling no line has any more is gone, not kept at zero.
    assert "soup" not in {row.item_key for row in merged.collect()}
    assert sorted(dim_item.build(merged).collect()) == sorted(dim_item.build(counted).collect())
