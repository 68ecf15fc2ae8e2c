"""Gold's datasets, declared once: columns, grain, partitioning, sort order, and what each can answer.

The Gold job writes exactly these columns, each dataset an Apache Iceberg table (`declaration`); the
query compiler reads them and picks, per question,
the smallest dataset that answers it exactly; the dashboard lists them. Aggregates keep keys, not
labels (`item_key`, `order_date`, `user_id`): names, calendar attributes and customer attributes are
joined from the lookup datasets at query time, so a canonical item name or a customer's segment at a
new snapshot date never leaves an older partition stale.

`answers` maps a measure to the SQL aggregate that totals it over the dataset's rows, generated from
the measure's declaration (`bi_contracts.measures`). A pre-counted order count (`precounted_orders`)
may be summed across rows that differ in order-level columns only: an order has one date, restaurant,
app, loyalty and discount flag, but its lines may fall in several categories.

The datasets without `order_date` answer only questions asked of the whole history. The lifetime
aggregates hold them at the customer grain: in a slice that fixes every other grain column, each row
is one customer, so customers are counted as rows instead of distinct ids. A dataset that `carries`
a lookup holds some of its columns itself, written by the same run from the same rows, so a question
by them reads no join: `agg_customer_lifetime` the snapshot's segment, tier and scores,
`agg_category_monthly` the calendar's month.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Final, Literal

from bi_contracts import customers as c
from bi_contracts.declared import DeclaredTable
from bi_contracts.measures import MEASURES, Measure
from bi_contracts.money import TOTAL
from bi_contracts.restaurants import FALLBACK_ID_CHARS, FALLBACK_PREFIX
from bi_lake.tables import Partitioning

# The lookups, by name: the metric catalogue's dimensions say which one each is joined from.
CALENDAR, ITEMS, CUSTOMERS = "dim_calendar", "dim_item", "dim_customer_snapshot"
RESTAURANTS = "dim_restaurant"
# The per-customer datasets an incremental Gold run builds its whole-history datasets from.
CUSTOMER_DAILY: Final = "agg_customer_daily"
CLV_DAILY: Final = "agg_customer_clv_daily"
_MONEY = TOTAL.sql
# The aggregates and series are partitioned by month: the first day of the order date's month, kept
# in a column of its own (see bi_lake.tables.Partitioning).
MONTH_PARTITION = "partition_month"
BY_MONTH = Partitioning(column=MONTH_PARTITION, transform="identity")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class GoldDataset(DeclaredTable):
    name: str
    description: str
    role: Literal["aggregate", "lookup", "series"]
    columns: tuple[Column, ...]
    grain: tuple[str, ...]
    partitioning: Partitioning | None = None
    sort_by: tuple[str, ...] = ()
    precounted_orders: bool = False
    # The orders of one customer within a slice, for repeat_customers.
    orders_per_customer: str | None = None
    # The lookup whose columns of the same name this dataset holds, as of the same Gold run.
    carries: str | None = None

    @property
    def carried(self) -> tuple[str, ...]:
        """The columns it copies from the lookup it carries (none when it carries none)."""
        if self.carries is None:
            return ()
        lookup = DATASETS_BY_NAME[self.carries]
        return tuple(n for n in self.column_names if n in lookup.column_names and n != lookup.grain[0])

    @property
    def sort_order(self) -> tuple[str, ...]:
        return self.sort_by

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    # Asked for every dataset on every question: worked out once (a frozen dataclass's fields never change).
    @functools.cached_property
    def answers(self) -> dict[str, str]:
        """Measure -> the SQL that totals it over this dataset's rows (an aggregate's measures only)."""
        if self.role != "aggregate":
            return {}
        return {m.name: sql for m in MEASURES if (sql := self._total(m)) is not None}

    def _total(self, measure: Measure) -> str | None:
        # Never a sum, even where a column is named so (see _CUSTOMER_ROWS).
        if measure.kind == "customers":
            return "count(DISTINCT user_id)" if "user_id" in self.grain else None
        if measure.name in self.column_names:
            return f"sum({measure.name})"
        # A filter applies to pre-counted rows only when each row's orders all pass it or all fail.
        filterable = self.grain if self.precounted_orders else self.column_names
        if not measure.where_columns <= set(filterable):
            return None
        if measure.kind == "sum" and measure.amount in self.column_names:
            total = f"sum({measure.amount})"
        elif measure.kind == "orders" and "order_id" in self.grain:
            total = "count(DISTINCT order_id)"
        elif measure.kind == "orders" and self.precounted_orders:
            total = "sum(orders)"
        else:
            return None
        return f"{total} FILTER (WHERE {measure.where})" if measure.where else total


def _columns(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


_ORDER_KEYS = _columns(
    ("order_date", "date", "UTC date of the order's first line"),
    ("restaurant_id", "string", "the order's restaurant"),
    ("app_name", "string", "the order's app"),
    ("is_loyalty", "boolean", "any line of the order used the loyalty program"),
    ("is_discounted", "boolean", "the order had a discount (its discount amount > 0)"),
)
_MONTH = _columns((MONTH_PARTITION, "date", "first day of the order date's month: the partition"))
_USER = _columns(("user_id", "string", "the customer; NULL for guest orders"))
_CATEGORY = _columns(("item_category", "string", "the line's category"))
_ITEM = _columns(("item_key", "string", "the item (its trimmed, lower-case name)"))
_SUMS = _columns(
    ("net_sales", _MONEY, "Σ line_net"),
    ("gross_sales", _MONEY, "Σ line_gross"),
    ("discount_amount", _MONEY, "Σ line_discount"),
    ("items_sold", "bigint", "Σ item_quantity"),
)
_ORDER_COUNTS = _columns(
    ("orders", "bigint", "distinct orders"),
    ("discounted_orders", "bigint", "distinct orders with a discount"),
    ("loyalty_orders", "bigint", "distinct loyalty orders"),
)
_CUSTOMER_TOTALS = _columns(
    ("customer_orders", "bigint", "distinct orders with a customer"),
    ("customer_net_sales", _MONEY, "Σ line_net of orders with a customer"),
)
# Where each row of a slice is one customer, customers are the sum of this flag: no id is read.
CUSTOMER_ROWS = "customers"
_CUSTOMER_ROWS = _columns((CUSTOMER_ROWS, "bigint", "1 for a customer's row, 0 for the guests' row"))

# dim_customer_snapshot's columns, named before the datasets so that one can carry some of them.
_SNAPSHOT = _columns(
    ("user_id", "string", "the customer"),
    ("snapshot_date", "date", "S: the latest order date in Silver"),
    ("first_order_date", "date", "first order date"),
    ("last_order_date", "date", "latest order date up to S"),
    ("lifetime_orders", "bigint", "orders up to S"),
    ("clv", _MONEY, "lifetime net sales up to S"),
    ("clv_percent_rank", "double", "PERCENT_RANK() over CLV ascending"),
    ("clv_tier", "string", f"{c.HIGH} (>= {c.HIGH_TIER}), {c.MEDIUM} (>= {c.MEDIUM_TIER}), {c.LOW}"),
    (
        "recency_days",
        "integer",
        f"S - last order date, for customers active in the {c.RFM_DAYS} days to S",
    ),
    ("frequency", "bigint", f"orders in the {c.RFM_DAYS} days to S"),
    ("monetary", _MONEY, f"net sales in the {c.RFM_DAYS} days to S"),
    ("r_score", "integer", f"NTILE({c.SCORE_TILES}) over recency_days DESC, user_id"),
    ("f_score", "integer", f"NTILE({c.SCORE_TILES}) over frequency, user_id"),
    ("m_score", "integer", f"NTILE({c.SCORE_TILES}) over monetary, user_id"),
    (
        "rfm_segment",
        "string",
        f"{', '.join(c.SEGMENTS_IN_PRECEDENCE)} (the first that applies), or {c.INACTIVE}",
    ),
    ("days_since_last_order", "integer", "S - last order date"),
    (
        "churn_risk",
        "string",
        f"{c.ACTIVE} (<= {c.ACTIVE_MAX_DAYS} days), {c.AT_RISK} ({c.ACTIVE_MAX_DAYS + 1}-"
        f"{c.AT_RISK_MAX_DAYS}), {c.CHURNED} (> {c.AT_RISK_MAX_DAYS})",
    ),
    ("avg_gap_days", "double", "(last - first order date) / (distinct order dates - 1)"),
    ("spend_last_30", _MONEY, f"net sales S-{c.SPEND_DAYS - 1} .. S"),
    ("spend_prev_30", _MONEY, f"net sales S-{2 * c.SPEND_DAYS - 1} .. S-{c.SPEND_DAYS}"),
    ("spend_change_pct", "double", "(last - prev) / prev x 100; NULL when prev = 0"),
    ("loyalty_member", "boolean", "is_loyalty of the customer's most recent order"),
)
# The snapshot's attributes a question may slice customers by: carried by agg_customer_lifetime.
_CARRIED = ("clv_tier", "rfm_segment", "r_score", "f_score", "m_score", "churn_risk", "loyalty_member")


DATASETS: tuple[GoldDataset, ...] = (
    GoldDataset(
        name="agg_sales_daily",
        description="Orders by day, restaurant, app and loyalty flag: every order-level total",
        role="aggregate",
        columns=(*_ORDER_KEYS, *_SUMS, *_ORDER_COUNTS, *_CUSTOMER_TOTALS, *_MONTH),
        grain=tuple(c.name for c in _ORDER_KEYS),
        partitioning=BY_MONTH,
        sort_by=("order_date", "restaurant_id"),
        precounted_orders=True,
    ),
    GoldDataset(
        name="agg_category_daily",
        description="Lines by day, restaurant, app, loyalty flag and category",
        role="aggregate",
        columns=(*_ORDER_KEYS, *_CATEGORY, *_SUMS, *_ORDER_COUNTS, *_CUSTOMER_TOTALS, *_MONTH),
        grain=tuple(c.name for c in (*_ORDER_KEYS, *_CATEGORY)),
        partitioning=BY_MONTH,
        sort_by=("order_date", "item_category", "restaurant_id"),
        precounted_orders=True,
    ),
    GoldDataset(
        name="agg_category_monthly",
        description="Lines by month, restaurant, app, loyalty flag and category",
        role="aggregate",
        columns=(
            Column("order_month", "date", "first day of the order date's month"),
            *_ORDER_KEYS[1:],
            *_CATEGORY,
            *_SUMS,
            *_ORDER_COUNTS,
            *_CUSTOMER_TOTALS,
            *_MONTH,
        ),
        grain=("order_month", *(c.name for c in (*_ORDER_KEYS[1:], *_CATEGORY))),
        partitioning=BY_MONTH,
        sort_by=("order_month", "item_category", "restaurant_id"),
        precounted_orders=True,
        carries=CALENDAR,
    ),
    GoldDataset(
        name="agg_item_daily",
        description="Lines by day, restaurant, app, loyalty flag, category and item",
        role="aggregate",
        columns=(*_ORDER_KEYS, *_CATEGORY, *_ITEM, *_SUMS, *_ORDER_COUNTS, *_CUSTOMER_TOTALS, *_MONTH),
        grain=tuple(c.name for c in (*_ORDER_KEYS, *_CATEGORY, *_ITEM)),
        partitioning=BY_MONTH,
        sort_by=("order_date", "item_category", "item_key"),
        precounted_orders=True,
    ),
    GoldDataset(
        name=CUSTOMER_DAILY,
        description="Orders by day, restaurant, app, loyalty flag and customer (guests as one NULL customer)",
        role="aggregate",
        columns=(*_ORDER_KEYS, *_USER, *_SUMS, *_ORDER_COUNTS, *_MONTH),
        grain=tuple(c.name for c in (*_ORDER_KEYS, *_USER)),
        partitioning=BY_MONTH,
        sort_by=("order_date", "user_id"),
        precounted_orders=True,
        orders_per_customer="sum(orders)",
    ),
    GoldDataset(
        name="agg_customer_lifetime",
        description="Orders by customer over all dates (guests as one NULL customer), with the customer "
        "snapshot's segment, tier, scores, churn risk and loyalty",
        role="aggregate",
        columns=(
            *_USER,
            *_SUMS,
            *_ORDER_COUNTS,
            *_CUSTOMER_TOTALS,
            *_CUSTOMER_ROWS,
            *(c for c in _SNAPSHOT if c.name in _CARRIED),
        ),
        grain=("user_id",),
        sort_by=("user_id",),
        precounted_orders=True,
        orders_per_customer="sum(orders)",
        carries=CUSTOMERS,
    ),
    GoldDataset(
        name="agg_customer_restaurant",
        description="Orders by restaurant and customer over all dates (guests as one NULL customer per "
        "restaurant)",
        role="aggregate",
        columns=(_ORDER_KEYS[1], *_USER, *_SUMS, *_ORDER_COUNTS, *_CUSTOMER_TOTALS, *_CUSTOMER_ROWS),
        grain=("restaurant_id", "user_id"),
        sort_by=("restaurant_id", "user_id"),
        precounted_orders=True,
        orders_per_customer="sum(orders)",
    ),
    GoldDataset(
        name="agg_order_item",
        description="Lines by order, category and item: exact for any slice, the fallback of the others",
        role="aggregate",
        columns=(
            Column("order_id", "string", "the order"),
            *_ORDER_KEYS,
            *_USER,
            *_CATEGORY,
            *_ITEM,
            *_SUMS,
            *_MONTH,
        ),
        grain=("order_id", *(c.name for c in (*_ORDER_KEYS, *_USER, *_CATEGORY, *_ITEM))),
        partitioning=BY_MONTH,
        sort_by=("order_date", "order_id"),
        orders_per_customer="count(DISTINCT order_id)",
    ),
    GoldDataset(
        name=CLV_DAILY,
        description="CLV as it evolves: per customer and order date, that day's net sales and running total",
        role="series",
        columns=(
            *_columns(
                ("user_id", "string", "the customer"),
                ("order_date", "date", "a date the customer ordered"),
                ("orders", "bigint", "the customer's orders that day"),
                ("net_sales", _MONEY, "the customer's net sales that day"),
                ("clv", _MONEY, "lifetime net sales up to and including that day"),
                ("last_order_loyalty", "boolean", "is_loyalty of the customer's last order that day"),
            ),
            *_MONTH,
        ),
        grain=("user_id", "order_date"),
        partitioning=BY_MONTH,
        sort_by=("order_date", "user_id"),
    ),
    GoldDataset(
        name=CALENDAR,
        description="Every order date with its calendar attributes",
        role="lookup",
        columns=_columns(
            ("order_date", "date", "the date"),
            ("order_week", "date", "Monday of its ISO week"),
            ("order_month", "date", "first day of its month"),
            ("year", "integer", "calendar year"),
            ("day_of_week", "string", "Monday .. Sunday"),
            ("is_weekend", "boolean", "Saturday or Sunday"),
            ("is_holiday", "boolean", "a holiday"),
            ("holiday_name", "string", "the holiday, NULL on other days"),
        ),
        grain=("order_date",),
        sort_by=("order_date",),
    ),
    GoldDataset(
        name=ITEMS,
        description="Items with their canonical names",
        role="lookup",
        columns=_columns(
            ("item_key", "string", "the item"),
            ("item_name", "string", "its canonical name (the most frequent spelling)"),
            ("item_category", "string", "its usual category"),
        ),
        grain=("item_key",),
        sort_by=("item_key",),
    ),
    GoldDataset(
        name=RESTAURANTS,
        description="Every restaurant with the name to show and its place",
        role="lookup",
        columns=_columns(
            ("restaurant_id", "string", "the restaurant"),
            (
                "restaurant_name",
                "string",
                f"its name from the source, else '{FALLBACK_PREFIX}' + the first {FALLBACK_ID_CHARS} "
                "characters of its id (never empty)",
            ),
            ("city", "string", "its city; NULL when the source does not say"),
            ("region", "string", "its state or area; NULL when the source does not say"),
        ),
        grain=("restaurant_id",),
        sort_by=("restaurant_id",),
    ),
    GoldDataset(
        name=CUSTOMERS,
        description="Every customer as of the snapshot date S: CLV, RFM, churn indicators, loyalty",
        role="lookup",
        columns=_SNAPSHOT,
        grain=("user_id",),
        sort_by=("user_id",),
    ),
)

DATASETS_BY_NAME = {dataset.name: dataset for dataset in DATASETS}


def definitions_fingerprint(builder_version: str) -> str:
    """Changes whenever a dataset's declaration or the code that builds it does."""
    text = repr(DATASETS) + builder_version
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# Lookups join on their single grain column.
LOOKUP_KEYS = {d.name: d.grain[0] for d in DATASETS if d.role == "lookup"}
