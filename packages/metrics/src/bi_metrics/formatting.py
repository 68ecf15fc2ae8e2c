"""How answers are shown: text for people, CSV and JSON for programs; one rule for the CLI and the dashboard.

JSON is the command line's contract: one array of objects, keys = the dimensions and metrics asked for,
numbers as JSON numbers, dates as YYYY-MM-DD.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bi_lake.settings import DEFAULT_CURRENCY
from bi_metrics.catalogue import METRICS_BY_NAME, Format

if TYPE_CHECKING:
    from bi_metrics.engine import Answer

Value = str | int | float | bool | Decimal | dt.date | None

# A metric with no value for a slice (a ratio over zero orders).
NO_VALUE = "—"


# The symbol an amount is written with; any other ISO 4217 code is written before the amount.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "CHF": "CHF "}
COMPACT_STEPS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def currency_symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def text_value(value: Value) -> str:
    """A value as plain text, for CSV and for dimension values: empty for NULL."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def compact(value: float) -> str:
    """2.51M, 48.7K, 512: three significant digits where space is short."""
    size = abs(value)
    for step, suffix in COMPACT_STEPS:
        if size >= step * 0.9995:
            scaled = value / step
            digits = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:.{digits}f}".rstrip("0").rstrip(".") + suffix
    return f"{value:,.0f}" if size >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def money(value: int | float | Decimal, currency: str = DEFAULT_CURRENCY, *, short: bool = False) -> str:
    """$1,374,080.57, or $1.37M when short; the sign before the symbol."""
    size = abs(float(value))
    sign = "-" if value < 0 else ""
    amount = compact(size) if short and size >= 10_000 else f"{abs(value):,.2f}"
    return f"{sign}{currency_symbol(currency)}{amount}"


def formatted(value: Value, style: Format, *, currency: str = DEFAULT_CURRENCY, short: bool = False) -> str:
    """Money with its currency, percentages as percent, counts with thousands separators; `short`
    writes large amounts and counts compactly (2.51M) for tiles."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return text_value(value)
    if style == "currency":
        return money(value, currency, short=short)
    if style == "percent":
        return f"{float(value) * 100:.2f}%"
    if style == "number":
        return f"{float(value):,.2f}"
    return compact(float(value)) if short and abs(float(value)) >= 1_000_000 else f"{value:,}"


def metric_text(metric: str, value: Value, *, currency: str = DEFAULT_CURRENCY, short: bool = False) -> str:
    return formatted(value, METRICS_BY_NAME[metric].format, currency=currency, short=short)


def json_value(value: Value) -> Any:
    if isinstance(value, Decimal):
        # Amounts are exact decimals with two places: a float prints them back exactly (to 15 digits).
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent == 0
            else float(value)
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def answer_json(answer: Answer) -> str:
    return json.dumps(
        [{k: json_value(v) for k, v in record.items()} for record in answer.records()], indent=2
    )


def answer_csv(answer: Answer) -> str:
    return rows_csv(answer.columns, answer.rows)


def rows_csv(columns: Sequence[str], rows: Iterable[Sequence[Value]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([text_value(value) for value in row] for row in rows)
    return buffer.getvalue()
