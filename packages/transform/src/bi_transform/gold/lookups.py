"""The lookup datasets the aggregates are joined to at query time: the calendar and the items."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


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
