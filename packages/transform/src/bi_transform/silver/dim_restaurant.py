"""dim_restaurant: one row per restaurant with its first and last order date and order count."""

from __future__ import annotations

import pyspark.sql.types as T
from pandera.pyspark import DataFrameModel, Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


class DimRestaurant(DataFrameModel):
    restaurant_id: T.StringType() = Field(nullable=False)
    first_order_date: T.DateType() = Field(nullable=False)
    last_order_date: T.DateType() = Field(nullable=False)
    orders: T.LongType() = Field(nullable=False)

    class Config:
        unique = ["restaurant_id"]


def build(orders: DataFrame) -> DataFrame:
    return orders.groupBy("restaurant_id").agg(
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
        F.count(F.lit(1)).alias("orders"),
    )
