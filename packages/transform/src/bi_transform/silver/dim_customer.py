"""dim_customer: customers with their loyalty status history as type-2 rows.

One row per period of unchanged loyalty status: valid_from is the time of the first order in that
status, valid_to the start of the next period (NULL for the current one). Every row also carries the
customer's first and last order dates and order count; `is_current` marks the status of their most
recent order.

Orders are taken in the order of (order_time_utc, order_id), the same order that decides the loyalty
member at S. Several orders of one customer at one instant (a split check, a retried checkout, times
recorded to the second) are ordinary data: the instant gives at most one period, with the status of
the last of them, so a status that flips within an instant never opens two periods at one valid_from.

A customer's rows follow from their own orders alone, so a run rebuilds only the customers it touches
(`merge`): ordering every order of every customer again is what grew with history.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def _status_by_instant(customer_orders: DataFrame) -> DataFrame:
    """Per customer and order instant: the loyalty status of the instant's last order by order_id."""
    return customer_orders.groupBy("user_id", "order_time_utc").agg(
        F.max_by("is_loyalty", "order_id").alias("is_loyalty")
    )


def build(orders: DataFrame) -> DataFrame:
    customers = orders.where(F.col("user_id").isNotNull())
    # Instants are unique per customer, so this order is total.
    in_time = Window.partitionBy("user_id").orderBy("order_time_utc")
    changes = (
        _status_by_instant(customers)
        .withColumn("_previous", F.lag("is_loyalty").over(in_time))
        .where(F.col("_previous").isNull() | (F.col("_previous") != F.col("is_loyalty")))
        .select(
            "user_id",
            F.col("is_loyalty").alias("loyalty_member"),
            F.col("order_time_utc").alias("valid_from"),
        )
    )
    periods = changes.withColumn(
        "valid_to", F.lead("valid_from").over(Window.partitionBy("user_id").orderBy("valid_from"))
    ).withColumn("is_current", F.col("valid_to").isNull())
    summary = customers.groupBy("user_id").agg(
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
        F.count(F.lit(1)).alias("orders"),
    )
    return periods.join(summary, "user_id")


def merge(previous: DataFrame, orders: DataFrame, changed: DataFrame) -> DataFrame:
    """dim_customer after a run: the customers with an order in `changed` (the orders of the partitions
    the run replaces, as published before it and as it leaves them) rebuilt from all their `orders`,
    the others' rows as `previous` holds them. A customer left without an order has no row."""
    affected = changed.where(F.col("user_id").isNotNull()).select("user_id").distinct()
    rebuilt = build(orders.join(affected, "user_id", "left_semi"))
    return previous.join(affected, "user_id", "left_anti").unionByName(rebuilt)
