"""dim_restaurant: one row per restaurant: its name and place from the source's `restaurants` table
(when the source has one), and its first and last order date and order count.

Every restaurant with an order has a row; one the source's table does not know (a new location, or a
source without the table) has NULL name, city, region and opening date, and reads as its fallback
label downstream (bi_contracts.restaurants). A restaurant the table lists without any order yet has a
row too, with 0 orders and no order dates: it is a real location, and Gold's lookup may name it.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

# The source table's columns besides the id, with the type each is conformed to.
REFERENCE_COLUMNS = {"name": "string", "city": "string", "region": "string", "opened_on": "date"}


def _blank_to_null(column: str) -> Column:
    trimmed = F.trim(F.col(column).cast("string"))
    return F.when(trimmed != "", trimmed)


def reference(restaurants: DataFrame) -> DataFrame:
    """One row per restaurant id from a Bronze extract of `restaurants`.

    The source enforces no key: of several rows for one id, the one with the most columns filled wins
    (then the smallest values, so the choice does not depend on the files' order). Blank text is NULL.
    A column the source's table lacks reads as NULL.
    """
    conformed = restaurants.select(
        _blank_to_null("restaurant_id").alias("restaurant_id"),
        *(
            (_blank_to_null(name) if kind == "string" else F.col(name).cast(kind)).alias(name)
            if name in restaurants.columns
            else F.lit(None).cast(kind).alias(name)
            for name, kind in REFERENCE_COLUMNS.items()
        ),
    ).where(F.col("restaurant_id").isNotNull())
    filled = sum((F.col(name).isNotNull().cast("int") for name in REFERENCE_COLUMNS), F.lit(0))
    order = [filled.desc(), *(F.col(name).asc_nulls_last() for name in REFERENCE_COLUMNS)]
    ranked = conformed.withColumn(
        "_rank", F.row_number().over(Window.partitionBy("restaurant_id").orderBy(*order))
    )
    return ranked.where(F.col("_rank") == 1).drop("_rank")


def build(orders: DataFrame, restaurants: DataFrame | None) -> DataFrame:
    """`restaurants`: the latest Bronze extract of the source's table, or None when there is none."""
    activity = orders.groupBy("restaurant_id").agg(
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
        F.count(F.lit(1)).alias("orders"),
    )
    if restaurants is None:
        known = reference(
            orders.sparkSession.createDataFrame(
                [], "restaurant_id string, " + ", ".join(f"{n} {k}" for n, k in REFERENCE_COLUMNS.items())
            )
        )
    else:
        known = reference(restaurants)
    return activity.join(known, "restaurant_id", "full_outer").select(
        "restaurant_id",
        *REFERENCE_COLUMNS,
        "first_order_date",
        "last_order_date",
        F.coalesce(F.col("orders"), F.lit(0).cast("long")).alias("orders"),
    )
