"""fct_order_option: the kept add-ons and discounts, one row per distinct option row, by order date."""

from __future__ import annotations

import pyspark.sql.types as T
from pandera.pyspark import DataFrameModel, Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bi_contracts.money import AMOUNT
from bi_transform.silver.money import money
from bi_transform.silver.rules import OPTION_COLUMNS


class FctOrderOption(DataFrameModel):
    order_id: T.StringType() = Field(nullable=False)
    lineitem_id: T.StringType() = Field(nullable=False)
    option_group_name: T.StringType() = Field(nullable=True)
    option_name: T.StringType() = Field(nullable=True)
    option_price: T.DecimalType(10, 2) = Field(nullable=False)
    option_quantity: T.IntegerType() = Field(nullable=False)
    option_amount: T.DecimalType(AMOUNT.precision, AMOUNT.scale) = Field(nullable=False)
    order_date: T.DateType() = Field(nullable=False)

    class Config:
        unique = list(OPTION_COLUMNS)


def build(options: DataFrame, order_dates: DataFrame) -> DataFrame:
    """Options with their amount (price x quantity) and their order's date."""
    return (
        options.select(*OPTION_COLUMNS)
        .withColumn("option_amount", money(F.col("option_price") * F.col("option_quantity")))
        .join(order_dates, "order_id", "inner")
    )
