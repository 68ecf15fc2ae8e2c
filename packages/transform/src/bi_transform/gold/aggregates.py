"""The aggregate datasets: order totals and line totals at the grains `bi_contracts.gold` declares.

Each aggregate groups rows of one order each by its declared grain and computes its declared measure
columns from the expressions below, defined once: fct_order's rows for the order-level aggregates,
and for the line-level ones each order's matching lines summed within the group. Line aggregates take
the restaurant, app, loyalty and discount flags and customer of the line's order (the order-level
dimensions of docs/metrics.md, *Dimensions*). The lifetime aggregates are rolled up from
`agg_customer_daily`'s rows of every month (those a run did not rebuild as Gold keeps them), so a run
reads only the orders of the days that changed; one that carries a lookup's columns takes them from
the lookup's rows of the same run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bi_contracts.gold import CUSTOMER_DAILY, CUSTOMER_ROWS, LOOKUP_KEYS, MONTH_PARTITION, GoldDataset
from bi_contracts.gold import Column as GoldColumn
from bi_contracts.measures import MEASURES, MEASURES_BY_NAME, SILVER_AMOUNTS

# The lifetime aggregates are rolled up from CUSTOMER_DAILY: its rows of every month are the whole history.
Source = Literal["orders", "lines", "agg_customer_daily"]


# Built when called: a Column needs a running Spark session, which importing this module must not.
def order_totals() -> dict[str, Column]:
    """Each summed or counted measure over rows of one order each: fct_order's, or an order's lines
    within a group (`per_order`), generated from the measures' declarations."""
    totals: dict[str, Column] = {}
    for measure in MEASURES:
        if measure.kind == "sum" and measure.amount is not None:
            value = F.col(SILVER_AMOUNTS[measure.amount])
        elif measure.kind == "orders":
            value = F.lit(1)
        else:
            continue  # customers are counted where Gold keeps them, not in an order total
        if measure.where is not None:
            value = F.when(F.expr(measure.where), value)
        if measure.kind == "orders":
            totals[measure.name] = F.count(value)
        elif measure.where is not None:
            # No order passing the filter is a total of zero, not an unknown one.
            totals[measure.name] = F.coalesce(F.sum(value), F.lit(0))
        else:
            totals[measure.name] = F.sum(value)
    return totals


SOURCES: dict[str, Source] = {
    "agg_sales_daily": "orders",
    CUSTOMER_DAILY: "orders",
    "agg_customer_lifetime": CUSTOMER_DAILY,
    "agg_customer_restaurant": CUSTOMER_DAILY,
    "agg_category_daily": "lines",
    "agg_category_monthly": "lines",
    "agg_item_daily": "lines",
    "agg_order_item": "lines",
}

_ORDER_ATTRIBUTES = ("restaurant_id", "app_name", "is_loyalty", "is_discounted", "user_id")


def order_lines(lines: DataFrame, orders: DataFrame) -> DataFrame:
    """Lines with the restaurant, app, loyalty and discount flags and customer of their order."""
    attributes = orders.select("order_id", *_ORDER_ATTRIBUTES)
    return lines.drop(*(a for a in _ORDER_ATTRIBUTES if a in lines.columns)).join(attributes, "order_id")


def per_order(lines: DataFrame, grain: tuple[str, ...]) -> DataFrame:
    """Lines summed to one row per order within each group of `grain`, shaped like fct_order rows, so
    the order totals apply: counting these rows counts the distinct orders having such a line,
    without a distinct count (which Spark would compute by multiplying the rows)."""
    keys = [*grain, *(key for key in ("order_id", "user_id") if key not in grain)]
    return lines.groupBy(*keys).agg(
        F.sum("line_net").alias("net_amount"),
        F.sum("line_gross").alias("gross_amount"),
        F.sum("line_discount").alias("discount_amount"),
        F.sum(F.col("item_quantity").cast("bigint")).alias("items"),
    )


def build(
    dataset: GoldDataset, orders: DataFrame, lines: DataFrame, lookups: Mapping[str, DataFrame]
) -> DataFrame:
    """The dataset's rows from `orders` or `lines`; a dataset that carries a lookup's columns outside
    its grain joins them from that lookup's rows (`lookups`, by name); one in its grain (the month) is
    computed from the order date, as the lookup's is."""
    if "order_month" in dataset.grain:
        lines = lines.withColumn("order_month", F.trunc("order_date", "month"))
    source = orders if SOURCES[dataset.name] == "orders" else per_order(lines, dataset.grain)
    totals = order_totals()
    if CUSTOMER_ROWS in dataset.column_names:
        totals[CUSTOMER_ROWS] = _customer_row()
    built = source.groupBy(*dataset.grain).agg(
        *(totals[column.name].cast(column.type).alias(column.name) for column in _measures(dataset))
    )
    return _carry(dataset, built, lookups)


def rollup(
    dataset: GoldDataset, finer: GoldDataset, rows: DataFrame, lookups: Mapping[str, DataFrame]
) -> DataFrame:
    """The dataset's rows from the rows of a finer aggregate (`finer`, whose grain holds the dataset's):
    each measure totalled by the SQL the metric layer totals it with over `finer` (`answers`), so the
    rollup is exact wherever a question over `finer` is. A filtered total with no row passing is zero,
    as in `order_totals`."""
    totals: dict[str, Column] = {}
    for column in _measures(dataset):
        if column.name == CUSTOMER_ROWS:
            total = _customer_row()
        else:
            total = F.expr(finer.answers[column.name])
            if MEASURES_BY_NAME[column.name].where is not None:
                total = F.coalesce(total, F.lit(0))
        totals[column.name] = total.cast(column.type).alias(column.name)
    built = rows.groupBy(*dataset.grain).agg(*totals.values())
    return _carry(dataset, built, lookups)


def _customer_row() -> Column:
    """The dataset's grain has user_id: 1 for one customer's rows, 0 for the guests'."""
    return F.max(F.col("user_id").isNotNull().cast("int"))


def _measures(dataset: GoldDataset) -> list[GoldColumn]:
    """The columns the dataset totals: neither its grain, nor its partition (derived from the order
    date when the dataset is written), nor a lookup's it carries."""
    carried = set(dataset.carried)
    return [
        c
        for c in dataset.columns
        if c.name not in dataset.grain and c.name != MONTH_PARTITION and c.name not in carried
    ]


def _carry(dataset: GoldDataset, built: DataFrame, lookups: Mapping[str, DataFrame]) -> DataFrame:
    joined = [name for name in dataset.carried if name not in dataset.grain]
    if not joined or dataset.carries is None:
        return built
    key = LOOKUP_KEYS[dataset.carries]
    # A left join: guests (a NULL key) match no row and carry NULLs.
    return built.join(lookups[dataset.carries].select(key, *joined), key, "left")
