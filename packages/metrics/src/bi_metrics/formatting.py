"""How answers are shown: text for people, CSV and JSON for programs; one rule for the CLI and the dashboard.

JSON follows DESIGN.md: one array of objects, keys = the dimensions and metrics asked for, numbers as
JSON numbers, dates as YYYY-MM-DD.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bi_metrics.catalogue import METRICS_BY_NAME, Format

if TYPE_CHECKING:
    from bi_metrics.engine import Answer

Value = str | int | float | bool | Decimal | dt.date | None

NONE_SHOWN = "(none)"


def text_value(value: Value) -> str:
    """A value as plain text, for CSV and for dimension values: empty for NULL."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def dimension_text(value: Value) -> str:
    return NONE_SHOWN if value is None else text_value(value)


def formatted(value: Value, style: Format) -> str:
    """Currency and ratios with two decimals, percentages as percent, counts with thousands separators."""
    if value is None:
        return NONE_SHOWN
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return text_value(value)
    if style == "currency":
        return f"{value:,.2f}"
    if style == "percent":
        return f"{float(value) * 100:.2f}%"
    if style == "number":
        return f"{float(value):,.2f}"
    return f"{value:,}"


def metric_text(metric: str, value: Value) -> str:
    return formatted(value, METRICS_BY_NAME[metric].format)


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
