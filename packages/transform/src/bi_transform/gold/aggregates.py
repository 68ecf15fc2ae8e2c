"""The aggregate datasets: order totals and line totals at the grains the metrics package declares.

Each aggregate groups one Silver source by its declared grain and computes its declared measure
columns from the expressions below, defined once per source. Line aggregates take the restaurant, app,
loyalty flag and customer of the line's order (the order-level dimensions of METRICS.md §4).
"""

from __future__ import annotations

from typing import Literal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bi_metrics.gold import GoldDataset

Source = Literal["orders", "lines"]


def _zero_if_empty(total: Column) -> Column:
    return F.coalesce(total, F.lit(0))


def _has_customer() -> Column:
    return F.col("user_id").isNotNull()


# Built when called: a Column needs a running Spark session, which importing this module must not.
def order_totals() -> dict[str, Column]:
    """Over fct_order rows, one per order."""
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


def line_totals() -> dict[str, Column]:
    """Over fct_order_line rows with their order's attributes: an order counts once per group it has
    a line in."""
    return {
        "net_sales": F.sum("line_net"),
        "gross_sales": F.sum("line_gross"),
        "discount_amount": F.sum("line_discount"),
        "items_sold": F.sum(F.col("item_quantity").cast("bigint")),
        "orders": F.count_distinct("order_id"),
        "discounted_orders": F.count_distinct(F.when(F.col("line_discount") > 0, F.col("order_id"))),
        "loyalty_orders": F.count_distinct(F.when(F.col("is_loyalty"), F.col("order_id"))),
        "customer_orders": F.count_distinct(F.when(_has_customer(), F.col("order_id"))),
        "customer_net_sales": _zero_if_empty(F.sum(F.when(_has_customer(), F.col("line_net")))),
    }


SOURCES: dict[str, Source] = {
    "agg_sales_daily": "orders",
    "agg_customer_daily": "orders",
    "agg_category_daily": "lines",
    "agg_item_daily": "lines",
    "agg_order_item": "lines",
}

_ORDER_ATTRIBUTES = ("restaurant_id", "app_name", "is_loyalty", "user_id")


def order_lines(lines: DataFrame, orders: DataFrame) -> DataFrame:
    """Lines with the restaurant, app, loyalty flag and customer of their order."""
    return lines.drop(*_ORDER_ATTRIBUTES).join(orders.select("order_id", *_ORDER_ATTRIBUTES), "order_id")


def build(dataset: GoldDataset, orders: DataFrame, lines: DataFrame) -> DataFrame:
    source, totals = (orders, order_totals()) if SOURCES[dataset.name] == "orders" else (lines, line_totals())
    measures = [column for column in dataset.columns if column.name not in dataset.grain]
    return source.groupBy(*dataset.grain).agg(
        *(totals[column.name].cast(column.type).alias(column.name) for column in measures)
    )
