"""How the data's values read to a business user, declared once for the dashboard and `bi query`'s
table: words for flags and codes, what a missing value means, the business order of categories, and
column headers.

The catalogue says what a dimension means; this says how its values are shown. Values keep their raw
form everywhere a program reads them (`--where`, CSV, JSON).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bi_contracts import customers
from bi_metrics.catalogue import DIMENSIONS_BY_NAME, METRICS_BY_NAME
from bi_metrics.formatting import Value

# Customer attributes are joined on the order's customer: a guest checkout has none.
GUESTS = "Guests (no account)"


@dataclass(frozen=True)
class ValueWords:
    """How one dimension's values read: words for raw values, the reading of NULL, business order."""

    words: Mapping[Any, str] = field(default_factory=dict)
    missing: str = "Not set"
    order: tuple[str, ...] = ()

    def text(self, value: Value) -> str:
        if value is None:
            return self.missing
        return self.words.get(value, str(value))

    def rank(self, text: str) -> tuple[int, str]:
        """Sort key: the declared order first, then any other value alphabetically, the missing last."""
        if text in self.order:
            return self.order.index(text), ""
        return (len(self.order) + (1 if text == self.missing else 0)), text


CLV_TIERS = customers.CLV_TIERS
# The business order, best customers first (not the order segments are tried in).
RFM_SEGMENTS = (
    customers.VIP,
    customers.REGULAR,
    customers.NEW,
    customers.CHURN_RISK,
    customers.LOST,
    customers.INACTIVE,
)
CHURN_RISKS = {customers.ACTIVE: "Active", customers.AT_RISK: "At risk", customers.CHURNED: "Churned"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SCORES = tuple(str(score) for score in range(5, 0, -1))

VALUE_WORDS: dict[str, ValueWords] = {
    "is_loyalty": ValueWords({True: "Loyalty", False: "Non-loyalty"}, order=("Loyalty", "Non-loyalty")),
    "is_discounted": ValueWords(
        {True: "Discounted", False: "Full price"}, order=("Discounted", "Full price")
    ),
    "is_weekend": ValueWords({True: "Weekend", False: "Weekday"}, order=("Weekday", "Weekend")),
    "is_holiday": ValueWords({True: "Holiday", False: "Ordinary day"}, order=("Holiday", "Ordinary day")),
    "holiday_name": ValueWords(missing="No holiday"),
    "day_of_week": ValueWords(order=WEEKDAYS),
    "item_category": ValueWords(missing="Unknown"),
    "loyalty_member": ValueWords({True: "Member", False: "Non-member"}, GUESTS, ("Member", "Non-member")),
    "clv_tier": ValueWords(missing=GUESTS, order=CLV_TIERS),
    "rfm_segment": ValueWords(missing=GUESTS, order=RFM_SEGMENTS),
    "churn_risk": ValueWords(CHURN_RISKS, GUESTS, tuple(CHURN_RISKS.values())),
    # Inactive customers (no order in the 365 days to S) have no scores either.
    "r_score": ValueWords(missing="No score (inactive or guest)", order=_SCORES),
    "f_score": ValueWords(missing="No score (inactive or guest)", order=_SCORES),
    "m_score": ValueWords(missing="No score (inactive or guest)", order=_SCORES),
}
_PLAIN = ValueWords()

# Columns of the pages' own tables (not metrics or dimensions) whose header is not its name in words.
_HEADERS = {
    "clv": "Lifetime value",
    "user_id": "Customer",
    "avg_gap_days": "Average days between orders",
    "spend_last_30": "Spend, last 30 days",
    "spend_prev_30": "Spend, 30 days before",
    "spend_change_pct": "Spend change",
    "net_sales_growth_pct": "Net sales growth",
    "orders_growth_pct": "Orders growth",
    "lifetime_orders": "Lifetime orders",
    "month_end": "Month",
    "net_sales_365_days": "Net sales, last 365 days",
    "average_orders_365_days": "Orders per customer, last 365 days",
}
_ACRONYMS = {"clv": "CLV", "aov": "AOV", "rfm": "RFM", "id": "id"}


def words(dimension: str) -> ValueWords:
    return VALUE_WORDS.get(dimension, _PLAIN)


def value_text(dimension: str, value: Value) -> str:
    """A dimension's value as a reader sees it (dates: see `date_text`)."""
    if isinstance(value, dt.date):
        return date_text(dimension, value)
    return words(dimension).text(value)


def date_text(dimension: str, value: dt.date) -> str:
    """A date in its grain's unit: Jan 2023 for a month, week of 2 Jan 2023 for a week."""
    if dimension in ("order_month", "month_end"):
        return value.strftime("%b %Y")
    if dimension == "order_week":
        return f"Week of {day_text(value)}"
    return day_text(value)


def day_text(value: dt.date) -> str:
    """2 Jan 2023: a day as people write it, whatever the locale's month order."""
    return f"{value.day} {value:%b %Y}"


def period_text(start: dt.date, end: dt.date) -> str:
    return f"{day_text(start)} to {day_text(end)}"


def header(name: str) -> str:
    """A column's header: the catalogue's label for a metric or dimension, else its name in words."""
    if name in METRICS_BY_NAME:
        return METRICS_BY_NAME[name].label
    if name in DIMENSIONS_BY_NAME:
        return DIMENSIONS_BY_NAME[name].label
    if name in _HEADERS:
        return _HEADERS[name]
    text = " ".join(_ACRONYMS.get(word, word) for word in name.split("_"))
    return text[:1].upper() + text[1:]
