"""The aggregate datasets: order totals and line totals at the grains the metrics package declares.

Each aggregate groups rows of one order each by its declared grain and computes its declared measure
columns from the expressions below, defined once: fct_order's rows for the order-level aggregates,
and for the line-level ones each order's matching lines summed within the group. Line aggregates take
the restaurant, app, loyalty and discount flags and customer of the line's order (the order-level
dimensions of docs/metrics.md, *Dimensions*).
"""

from __future__ import annotations

from typing import Literal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bi_metrics.gold import MONTH_PARTITION, GoldDataset

Source = Literal["orders", "lines"]


def _zero_if_empty(total: Column) -> Column:
    return F.coalesce(total, F.lit(0))


def _has_customer() -> Column:
    return F.col("user_id").isNotNull()


# Built when called: a Column needs a running Spark session, which importing this module must not.
def order_totals() -> dict[str, Column]:
    """Over rows of one order each: fct_order's, or an order's lines within a group (`per_order`)."""
    return {
        "net_sales": F.sum("net_amount"),
        "gross_sales": F.sum("gross_amount"),
        "discount_amount": F.sum("discount_amount"),
        "items_sold": F.sum("items"),
        "orders": F.count(F.lit(1)),
        "discounted_orders": F.count(F.when(F.col("has_discount"), 1)),
        "loyalty_orders": F.count(F.when(F.col("is_loyalty"), 1)),
        "customer_orders": F.count("user_id"),
        "customer_net_sales": _zero_if_empty(F.sum(F.when(_has_customer(), F.col("net_amount")))),
    }


SOURCES: dict[str, Source] = {
    "agg_sales_daily": "orders",
    "agg_customer_daily": "orders",
    "agg_category_daily": "lines",
    "agg_item_daily": "lines",
    "agg_order_item": "lines",
}

_ORDER_ATTRIBUTES = ("restaurant_id", "app_name", "is_loyalty", "is_discounted", "user_id")


def with_order_flags(orders: DataFrame) -> DataFrame:
    """fct_order rows with the order-level dimensions Gold groups by that Silver names otherwise."""
    return orders.withColumn("is_discounted", F.col("has_discount"))


def order_lines(lines: DataFrame, orders: DataFrame) -> DataFrame:
    """Lines with the restaurant, app, loyalty and discount flags and customer of their order."""
    attributes = with_order_flags(orders).select("order_id", *_ORDER_ATTRIBUTES)
    return lines.drop(*(a for a in _ORDER_ATTRIBUTES if a in lines.columns)).join(attributes, "order_id")


def per_order(lines: DataFrame, grain: tuple[str, ...]) -> DataFrame:
    """Lines summed to one row per order within each group of `grain`, shaped like fct_order rows, so
    the order totals apply: counting these rows counts the distinct orders having such a line,
    without a distinct count (which Spark would compute by multiplying the rows)."""
    keys = [*grain, *(key for key in ("order_id", "user_id") if key not in grain)]
    return (
        lines.groupBy(*keys)
        .agg(
            F.sum("line_net").alias("net_amount"),
            F.sum("line_gross").alias("gross_amount"),
            F.sum("line_discount").alias("discount_amount"),
            F.sum(F.col("item_quantity").cast("bigint")).alias("items"),
        )
        .withColumn("has_discount", F.col("discount_amount") > 0)
    )


def build(dataset: GoldDataset, orders: DataFrame, lines: DataFrame) -> DataFrame:
    if SOURCES[dataset.name] == "orders":
        source = with_order_flags(orders)
    else:
        source = per_order(lines, dataset.grain)
    totals = order_totals()
    # The partition column is derived from the order date when the dataset is written.
    measures = [c for c in dataset.columns if c.name not in dataset.grain and c.name != MONTH_PARTITION]
    return source.groupBy(*dataset.grain).agg(
        *(totals[column.name].cast(column.type).alias(column.name) for column in measures)
    )
