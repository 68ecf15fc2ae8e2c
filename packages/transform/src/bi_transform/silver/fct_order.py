"""fct_order: one row per order, from its kept lines (docs/metrics.md, *Building blocks*)."""

from __future__ import annotations

import pyspark.sql.types as T
from pandera.pyspark import DataFrameModel, Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bi_contracts.money import AMOUNT
from bi_transform.silver.fct_order_line import order_date
from bi_transform.silver.money import money


class FctOrder(DataFrameModel):
    order_id: T.StringType() = Field(nullable=False)
    order_date: T.DateType() = Field(nullable=False)
    order_time_utc: T.TimestampType() = Field(nullable=False)
    restaurant_id: T.StringType() = Field(nullable=False)
    app_name: T.StringType() = Field(nullable=False)
    user_id: T.StringType() = Field(nullable=True)
    is_loyalty: T.BooleanType() = Field(nullable=False)
    lines: T.LongType() = Field(nullable=False)
    items: T.LongType() = Field(nullable=False)
    net_amount: T.DecimalType(AMOUNT.precision, AMOUNT.scale) = Field(nullable=False)
    gross_amount: T.DecimalType(AMOUNT.precision, AMOUNT.scale) = Field(nullable=False)
    discount_amount: T.DecimalType(AMOUNT.precision, AMOUNT.scale) = Field(nullable=False)
    is_discounted: T.BooleanType() = Field(nullable=False)

    class Config:
        unique = ["order_id"]


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
