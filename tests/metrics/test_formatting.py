"""The one formatting layer: how figures and values read in the dashboard and `bi query`'s table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bi_metrics.formatting import NO_VALUE, compact, metric_text, money
from bi_metrics.labels import GUESTS, header, value_text, words


@pytest.mark.parametrize(
    ("value", "short", "currency", "expected"),
    [
        (Decimal("1374080.57"), False, "USD", "$1,374,080.57"),
        (Decimal("1374080.57"), True, "USD", "$1.37M"),
        (Decimal("2506736.10"), True, "USD", "$2.51M"),
        (Decimal("48712.00"), True, "EUR", "€48.7K"),
        (Decimal("9999.99"), True, "USD", "$9,999.99"),
        (Decimal("-12.50"), False, "GBP", "-£12.50"),
        (Decimal("19.63"), False, "SEK", "SEK 19.63"),
    ],
)
def test_money_has_its_currency_separators_and_a_short_form(
    value: Decimal, short: bool, currency: str, expected: str
) -> None:
    assert money(value, currency, short=short) == expected


def test_compact_keeps_three_significant_digits_and_drops_empty_decimals() -> None:
    assert [compact(v) for v in (2_500_000, 999_600, 12_345, 512, 3.5)] == [
        "2.5M",
        "1M",
        "12.3K",
        "512",
        "3.5",
    ]


def test_metrics_read_by_their_declared_format() -> None:
    assert metric_text("net_sales", Decimal("1234.5")) == "$1,234.50"
    assert metric_text("orders", 129_267) == "129,267"
    assert metric_text("orders", 129_267_000, short=True) == "129M"
    assert metric_text("repeat_rate", 0.19628) == "19.63%"
    assert metric_text("orders_per_customer", 2.3456) == "2.35"
    assert metric_text("aov", None) == NO_VALUE


def test_flags_codes_and_missing_values_read_as_words() -> None:
    assert value_text("is_loyalty", True) == "Loyalty" and value_text("is_loyalty", False) == "Non-loyalty"
    assert value_text("is_discounted", False) == "Full price"
    assert value_text("churn_risk", "at_risk") == "At risk"
    assert value_text("rfm_segment", None) == GUESTS
    assert value_text("holiday_name", None) == "No holiday"
    assert value_text("app_name", "OrderUp Web") == "OrderUp Web"


def test_dates_read_in_their_grains_unit() -> None:
    assert value_text("order_month", dt.date(2023, 1, 1)) == "Jan 2023"
    assert value_text("order_week", dt.date(2023, 1, 2)) == "Week of 2 Jan 2023"
    assert value_text("order_date", dt.date(2023, 12, 25)) == "25 Dec 2023"


def test_categories_sort_in_business_order_with_the_missing_last() -> None:
    shown = ["Low", GUESTS, "High", "Medium"]
    assert sorted(shown, key=words("clv_tier").rank) == ["High", "Medium", "Low", GUESTS]
    assert sorted(["Sunday", "Monday", "Friday"], key=words("day_of_week").rank) == [
        "Monday",
        "Friday",
        "Sunday",
    ]


def test_headers_are_business_labels() -> None:
    assert header("aov") == "Average order value"
    assert header("is_loyalty") == "Loyalty order"
    assert header("net_sales_per_day") == "Net sales per day"
    assert header("spend_change_pct") == "Spend change"
