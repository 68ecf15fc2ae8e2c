"""The lookup datasets the aggregates are joined to at query time: the calendar, the items and the
restaurants."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bi_metrics.restaurants import FALLBACK_ID_CHARS, FALLBACK_PREFIX


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
    """bi_metrics.restaurants.restaurant_label as a Spark expression: the trimmed name unless blank,
    else the fallback prefix and the id's first characters."""
    trimmed = F.trim(name)
    fallback = F.concat(F.lit(FALLBACK_PREFIX), F.substring(restaurant_id, 1, FALLBACK_ID_CHARS))
    return F.when(trimmed.isNotNull() & (trimmed != ""), trimmed).otherwise(fallback)


def dim_restaurant(silver_dim_restaurant: DataFrame) -> DataFrame:
    """Every restaurant Silver knows (with orders or listed by the source), named for display."""
    return silver_dim_restaurant.select(
        "restaurant_id",
        restaurant_label(F.col("restaurant_id"), F.col("name")).alias("restaurant_name"),
        "city",
        "region",
    )
