"""The lookup datasets the aggregates are joined to at query time: the calendar, the items and the
restaurants."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bi_contracts.restaurants import FALLBACK_ID_CHARS, FALLBACK_PREFIX


def dim_calendar(dim_date: DataFrame) -> DataFrame:
    """Silver's dim_date with the week (its Monday) and month (its first day) a date falls in."""
    return dim_date.select(
        F.col("date_key").alias("order_date"),
        F.trunc("date_key", "week").alias("order_week"),
        F.trunc("date_key", "month").alias("order_month"),
        "year",
        "day_of_week",
        "is_weekend",
        "is_holiday",
        "holiday_name",
    )


def dim_item(silver_dim_item: DataFrame) -> DataFrame:
    return silver_dim_item.select("item_key", "item_name", "item_category")


def restaurant_label(restaurant_id: Column, name: Column) -> Column:
    """bi_contracts.restaurants.restaurant_label as a Spark expression: the trimmed name unless blank,
    else the fallback prefix and the id's first characters."""
    # Any white space, as Python's str.strip: a name of a tab or a no-break space is blank.
    trimmed = F.regexp_replace(name, r"^[\s\u00a0]+|[\s\u00a0]+$", "")
    fallback = F.concat(F.lit(FALLBACK_PREFIX), F.substring(restaurant_id, 1, FALLBACK_ID_CHARS))
    return F.when(trimmed.isNotNull() & (trimmed != ""), trimmed).otherwise(fallback)


def dim_restaurant(silver_dim_restaurant: DataFrame) -> DataFrame:
    """Every restaurant Silver knows (with orders or listed by the source), named for display, each
    name once: two restaurants the source calls alike are told apart by their id's first characters,
    so a name stands for one restaurant (the catalogue's restaurant_name determines restaurant_id)."""
    described = silver_dim_restaurant
    for column in ("name", "city", "region"):
        if column not in described.columns:  # a Silver from before the source's names were modelled
            described = described.withColumn(column, F.lit(None).cast("string"))
    named = described.select(
        "restaurant_id",
        restaurant_label(F.col("restaurant_id"), F.col("name")).alias("restaurant_name"),
        "city",
        "region",
    )
    sharing = F.count("*").over(Window.partitionBy("restaurant_name"))
    told_apart = F.concat(
        F.col("restaurant_name"), F.lit(" ("), F.substring("restaurant_id", 1, FALLBACK_ID_CHARS), F.lit(")")
    )
    return named.withColumn(
        "restaurant_name", F.when(sharing > 1, told_apart).otherwise(F.col("restaurant_name"))
    )
