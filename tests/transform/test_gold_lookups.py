"""Gold's restaurant lookup on a real SparkSession: one name per restaurant, the source's when it has
one, the fallback label otherwise, and no two restaurants under one name."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from bi_contracts.restaurants import restaurant_label
from bi_transform.gold import lookups

pytestmark = pytest.mark.spark

SCHEMA = "restaurant_id string, name string, city string, region string"
A, B, C, D = ("aaaaaa" + "0" * 18, "bbbbbb" + "0" * 18, "cccccc" + "0" * 18, "dddddd" + "0" * 18)


def test_names_are_the_sources_trimmed_or_the_label_and_alike_names_are_told_apart(
    spark: SparkSession,
) -> None:
    silver = spark.createDataFrame(
        [
            (A, "  Harbor Grill\u00a0", "Portland", "OR"),
            (B, "Joe's Pizza", "Austin", "TX"),
            (C, "Joe's Pizza", "Dallas", "TX"),
            (D, "\t ", None, None),
        ],
        SCHEMA,
    )
    names = {row.restaurant_id: row.restaurant_name for row in lookups.dim_restaurant(silver).collect()}
    assert names == {
        A: "Harbor Grill",
        B: "Joe's Pizza (bbbbbb)",
        C: "Joe's Pizza (cccccc)",
        D: restaurant_label(D),
    }


def test_a_silver_from_before_names_were_modelled_reads_as_unnamed(spark: SparkSession) -> None:
    silver = spark.createDataFrame([(A, 3)], "restaurant_id string, orders long")
    [row] = lookups.dim_restaurant(silver).collect()
    assert (row.restaurant_name, row.city, row.region) == (restaurant_label(A), None, None)
