"""dim_date: every date from the first to the last order (and the source calendar's span):
the source's date_dim values where it has the date, generated values with US federal holidays elsewhere."""

from __future__ import annotations

import datetime as dt

import holidays
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

_HOLIDAYS = "date_key date, holiday_name string"
COLUMNS = ("date_key", "day_of_week", "week", "month", "year", "is_weekend", "is_holiday", "holiday_name")


def us_federal_holidays(spark: SparkSession, first: dt.date, last: dt.date) -> DataFrame:
    calendar = holidays.country_holidays("US", years=range(first.year, last.year + 1))
    rows = [(day, name) for day, name in sorted(calendar.items()) if first <= day <= last]
    return spark.createDataFrame(rows, _HOLIDAYS)


def build(
    spark: SparkSession, span: tuple[dt.date, dt.date] | None, source_calendar: DataFrame | None
) -> DataFrame:
    """Every date of `span` (first and last, inclusive; None when there are neither orders nor a
    calendar, which gives an empty table)."""
    spans = [span] if span else []
    spine = spark.createDataFrame(spans, "first date, last date").select(
        F.explode(F.sequence("first", "last")).alias("date_key")
    )
    holiday_rows = us_federal_holidays(spark, *span) if span else spark.createDataFrame([], _HOLIDAYS)
    generated = spine.join(holiday_rows, "date_key", "left").select(
        "date_key",
        F.date_format("date_key", "EEEE").alias("day_of_week"),
        F.weekofyear("date_key").alias("week"),
        F.month("date_key").alias("month"),
        F.year("date_key").alias("year"),
        F.dayofweek("date_key").isin(1, 7).alias("is_weekend"),
        F.col("holiday_name").isNotNull().alias("is_holiday"),
        "holiday_name",
        F.lit("generated").alias("source"),
    )
    if source_calendar is None:
        return generated
    known = source_calendar.select(
        F.col("date_key").cast("date"),
        F.col("day_of_week").cast("string"),
        F.col("week").cast("int"),
        F.col("month").cast("int"),
        F.col("year").cast("int"),
        F.col("is_weekend").cast("boolean"),
        F.col("is_holiday").cast("boolean"),
        F.col("holiday_name").cast("string"),
        F.lit("source").alias("source"),
    ).dropDuplicates(["date_key"])
    return known.unionByName(generated.join(known.select("date_key"), "date_key", "left_anti"))
