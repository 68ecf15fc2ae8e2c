"""fct_order_option: the kept add-ons and discounts, one row per distinct option row, by order date."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bi_transform.silver.money import money
from bi_transform.silver.rules import OPTION_COLUMNS


def build(options: DataFrame, order_dates: DataFrame) -> DataFrame:
    """Options with their amount (price x quantity) and their order's date."""
    return (
        options.select(*OPTION_COLUMNS)
        .withColumn("option_amount", money(F.col("option_price") * F.col("option_quantity")))
        .join(order_dates, "order_id", "inner")
    )
