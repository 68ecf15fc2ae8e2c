"""Every measure, declared once: what it totals, how, and over which orders.

A measure is what a Gold aggregate can total for any slice: a sum of an amount, a count of orders, a
count of customers. Both sides are generated from these declarations: the Gold job's Spark totals over
rows of one order each (`bi_transform.gold.aggregates.order_totals`) and the SQL the metric layer runs
over each Gold dataset (`bi_contracts.gold.GoldDataset.answers`). A measure's filter is one SQL
condition over an order's columns (lower-case column names, upper-case SQL words), the same text in
Spark and in DuckDB: the columns it names are Silver's `fct_order` columns and Gold's alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MeasureKind = Literal["sum", "orders", "customers", "repeat_customers"]

WITH_CUSTOMER = "user_id IS NOT NULL"

# Gold's amounts and the `fct_order` column each one totals.
SILVER_AMOUNTS = {
    "net_sales": "net_amount",
    "gross_sales": "gross_amount",
    "discount_amount": "discount_amount",
    "items_sold": "items",
}


@dataclass(frozen=True)
class Measure:
    name: str
    kind: MeasureKind
    description: str
    # For a sum: the Gold amount it adds up (one of SILVER_AMOUNTS).
    amount: str | None = None
    # Only the orders for which this SQL condition holds.
    where: str | None = None

    @property
    def where_columns(self) -> frozenset[str]:
        return frozenset(re.findall(r"\b[a-z_][a-z0-9_]*\b", self.where or ""))


# A repeat customer has at least this many orders in the slice asked about.
REPEAT_MIN_ORDERS = 2

MEASURES: tuple[Measure, ...] = (
    Measure("net_sales", "sum", "Σ line_net", amount="net_sales"),
    Measure("gross_sales", "sum", "Σ line_gross", amount="gross_sales"),
    Measure("discount_amount", "sum", "Σ line_discount", amount="discount_amount"),
    Measure("items_sold", "sum", "Σ item_quantity", amount="items_sold"),
    Measure("customer_net_sales", "sum", "Σ line_net of orders with a customer", "net_sales", WITH_CUSTOMER),
    Measure("orders", "orders", "distinct orders"),
    Measure(
        "discounted_orders", "orders", "distinct orders with a discount > 0", where="discount_amount > 0"
    ),
    Measure("loyalty_orders", "orders", "distinct orders with is_loyalty", where="is_loyalty"),
    Measure("customer_orders", "orders", "distinct orders with a customer", where=WITH_CUSTOMER),
    Measure("customers", "customers", "distinct non-NULL user_id"),
    Measure("repeat_customers", "repeat_customers", f"customers with {REPEAT_MIN_ORDERS} or more orders"),
)
MEASURES_BY_NAME = {measure.name: measure for measure in MEASURES}
