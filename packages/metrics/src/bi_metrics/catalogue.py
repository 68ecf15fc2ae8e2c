"""Every metric and dimension of the business, declared once (docs/metrics.md is written from it).

A metric is built from measures (`bi_contracts.measures`: what a Gold dataset can total, a sum, a
count of orders, a count of customers); a metric is one measure, or the ratio of two, recomputed
from its parts for every slice and never averaged. Dimensions say where their values live and at which level
they vary, which is what decides whether a pre-counted total may be summed across them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bi_contracts import customers as c
from bi_contracts.gold import CALENDAR, CUSTOMERS, ITEMS, RESTAURANTS
from bi_contracts.measures import REPEAT_MIN_ORDERS
from bi_contracts.restaurants import FALLBACK_ID_CHARS, FALLBACK_PREFIX
from bi_lake.errors import UserError

Format = Literal["currency", "count", "percent", "number"]
Aggregation = Literal["sum", "distinct count", "ratio"]
DimensionType = Literal["date", "string", "boolean", "integer"]
# order: one value per order (dates, restaurant, app, loyalty, discount); line: may differ between
# the lines of one order (category, item); customer: one value per customer, as of the snapshot date S.
Level = Literal["order", "line", "customer"]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str
    format: Format
    aggregation: Aggregation
    numerator: str
    denominator: str | None = None

    @property
    def measures(self) -> tuple[str, ...]:
        return (self.numerator,) if self.denominator is None else (self.numerator, self.denominator)


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    description: str
    type: DimensionType
    level: Level
    # The Gold lookup dataset it is joined from (None: a column of the aggregate itself) and its column.
    lookup: str | None = None
    column: str = ""
    # The aggregate's grain column this dimension is one-to-one with, if any: grouping by it fixes that
    # column as grouping by the column itself would.
    determines: str | None = None

    @property
    def source_column(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class BuildingBlock:
    """A value Silver computes for every kept line or order, which the measures add up."""

    name: str
    grain: Literal["line", "order", "lake"]
    definition: str


# Silver computes these (fct_order_line, fct_order); every measure below is defined over them.
BUILDING_BLOCKS: tuple[BuildingBlock, ...] = (
    BuildingBlock("option_amount", "line", "Σ option_price × option_quantity over the line's kept options"),
    BuildingBlock("line_net", "line", "item_price + option_amount (item_price is already the line total)"),
    BuildingBlock("line_gross", "line", "item_price + the positive option amounts"),
    BuildingBlock("line_discount", "line", "minus the negative option amounts (>= 0)"),
    BuildingBlock("order_date", "order", "UTC date of the earliest creation_time_utc of the order's lines"),
    BuildingBlock(
        "restaurant_id, app_name", "order", "those of the order's earliest line (by creation_time_utc)"
    ),
    BuildingBlock("user_id", "order", "the order's non-NULL user_id; NULL for a guest order"),
    BuildingBlock("is_loyalty", "order", "true when any of the order's lines is a loyalty line"),
    BuildingBlock("is_discounted", "order", "the order's Σ line_discount > 0"),
    BuildingBlock("S", "lake", "the snapshot date: the latest order_date in Silver, never today's date"),
)

METRICS: tuple[Metric, ...] = (
    Metric("net_sales", "Net sales", "Σ line_net: item price plus options, discounts taken off",
           "currency", "sum", "net_sales"),
    Metric("gross_sales", "Gross sales", "Σ line_gross: item price plus the positive options",
           "currency", "sum", "gross_sales"),
    Metric("discount_amount", "Discounts", "Σ line_discount: the negative options, as a positive amount",
           "currency", "sum", "discount_amount"),
    Metric("orders", "Orders", "Count of distinct orders", "count", "distinct count", "orders"),
    Metric("items_sold", "Items sold", "Σ item_quantity", "count", "sum", "items_sold"),
    Metric("customers", "Customers", "Count of distinct non-NULL user_id (guests excluded)",
           "count", "distinct count", "customers"),
    Metric("aov", "Average order value", "net_sales / orders", "currency", "ratio", "net_sales", "orders"),
    Metric("discounted_orders", "Discounted orders", "Orders with a discount > 0",
           "count", "distinct count", "discounted_orders"),
    Metric("discounted_order_share", "Discounted order share", "discounted_orders / orders",
           "percent", "ratio", "discounted_orders", "orders"),
    Metric("discount_rate", "Discount rate", "discount_amount / gross_sales",
           "percent", "ratio", "discount_amount", "gross_sales"),
    Metric("loyalty_orders", "Loyalty orders", "Orders placed with the loyalty program",
           "count", "distinct count", "loyalty_orders"),
    Metric("net_sales_per_customer", "Net sales per customer",
           "net_sales of orders with a customer / customers",
           "currency", "ratio", "customer_net_sales", "customers"),
    Metric("orders_per_customer", "Orders per customer", "orders with a customer / customers",
           "number", "ratio", "customer_orders", "customers"),
    Metric("repeat_customers", "Repeat customers",
           f"Customers with {REPEAT_MIN_ORDERS} or more orders in the range",
           "count", "distinct count", "repeat_customers"),
    Metric("repeat_rate", "Repeat rate", "repeat_customers / customers",
           "percent", "ratio", "repeat_customers", "customers"),
)  # fmt: skip

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("order_date", "Order date", "UTC date of the order's first line", "date", "order"),
    Dimension("order_week", "Order week", "Monday of the order date's ISO week", "date", "order", CALENDAR),
    Dimension("order_month", "Order month", "First day of the order date's month", "date", "order", CALENDAR),
    Dimension("year", "Year", "Calendar year of the order date", "integer", "order", CALENDAR),
    Dimension("day_of_week", "Day of week", "Monday .. Sunday", "string", "order", CALENDAR),
    Dimension("is_weekend", "Weekend", "The order date is a Saturday or Sunday", "boolean", "order",
              CALENDAR),
    Dimension("is_holiday", "Holiday", "The order date is a holiday", "boolean", "order", CALENDAR),
    Dimension("holiday_name", "Holiday name", "The holiday on the order date (empty on other days)",
              "string", "order", CALENDAR),
    Dimension("restaurant_id", "Restaurant id", "The location of the order (its source id)", "string",
              "order"),
    Dimension("restaurant_name", "Restaurant",
              f"The location's name from the source, else '{FALLBACK_PREFIX}' + the first {FALLBACK_ID_CHARS}"
              " characters of its id",
              "string", "order", RESTAURANTS, determines="restaurant_id"),
    Dimension("city", "City", "The location's city (empty when the source does not say)", "string", "order",
              RESTAURANTS),
    Dimension("region", "Region", "The location's state or area (empty when the source does not say)",
              "string", "order", RESTAURANTS),
    Dimension("app_name", "App", "The ordering app or brand", "string", "order"),
    Dimension("is_loyalty", "Loyalty order", "Any line of the order used the loyalty program",
              "boolean", "order"),
    Dimension("is_discounted", "Discounted order", "The order had a discount (its discount amount > 0)",
              "boolean", "order"),
    Dimension("item_category", "Item category", "Category of the line's item (Unknown when unusable)",
              "string", "line"),
    Dimension("item_name", "Item", "Canonical name of the line's item", "string", "line", ITEMS,
              determines="item_key"),
    Dimension("clv_tier", "CLV tier", f"Customer's lifetime value tier at S: {', '.join(c.CLV_TIERS)}",
              "string", "customer", CUSTOMERS),
    Dimension("rfm_segment", "RFM segment",
              f"Customer's segment at S: {', '.join(c.SEGMENTS_IN_PRECEDENCE)}, {c.INACTIVE}",
              "string", "customer", CUSTOMERS),
    Dimension("r_score", "Recency score",
              f"NTILE({c.SCORE_TILES}) of recency at S, {c.SCORE_TILES} = most recent "
              f"(empty if {c.INACTIVE})",
              "integer", "customer", CUSTOMERS),
    Dimension("f_score", "Frequency score", f"NTILE({c.SCORE_TILES}) of orders in the {c.RFM_DAYS} days to S",
              "integer", "customer", CUSTOMERS),
    Dimension("m_score", "Monetary score",
              f"NTILE({c.SCORE_TILES}) of net sales in the {c.RFM_DAYS} days to S", "integer", "customer",
              CUSTOMERS),
    Dimension("churn_risk", "Churn risk",
              f"{c.ACTIVE} (<= {c.ACTIVE_MAX_DAYS} days since last order), {c.AT_RISK} "
              f"({c.ACTIVE_MAX_DAYS + 1}-{c.AT_RISK_MAX_DAYS}), {c.CHURNED}",
              "string", "customer", CUSTOMERS),
    Dimension("loyalty_member", "Loyalty member", "The customer's most recent order used loyalty",
              "boolean", "customer", CUSTOMERS),
)  # fmt: skip

METRICS_BY_NAME = {metric.name: metric for metric in METRICS}
DIMENSIONS_BY_NAME = {dimension.name: dimension for dimension in DIMENSIONS}


def metric(name: str) -> Metric:
    try:
        return METRICS_BY_NAME[name]
    except KeyError:
        raise UserError(f"unknown metric {name!r}; metrics are: {', '.join(METRICS_BY_NAME)}") from None


def dimension(name: str) -> Dimension:
    try:
        return DIMENSIONS_BY_NAME[name]
    except KeyError:
        raise UserError(
            f"unknown dimension {name!r}; dimensions are: {', '.join(DIMENSIONS_BY_NAME)}"
        ) from None
