"""How `bi query` and `bi metrics` print: a table for people, CSV and JSON for programs.

JSON follows DESIGN.md: one array of objects, keys = the dimensions and metrics asked for, numbers as
JSON numbers, dates as YYYY-MM-DD.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

from rich.box import SIMPLE
from rich.table import Table

from bi_metrics.catalogue import DIMENSIONS, METRICS, METRICS_BY_NAME, Format
from bi_metrics.engine import Answer, Value

NONE_SHOWN = "(none)"


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


def text_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _formatted(value: Value, style: Format) -> str:
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


def answer_json(answer: Answer) -> str:
    return json.dumps(
        [{k: json_value(v) for k, v in record.items()} for record in answer.records()], indent=2
    )


def answer_csv(answer: Answer) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(answer.columns)
    writer.writerows([text_value(value) for value in row] for row in answer.rows)
    return buffer.getvalue()


def answer_table(answer: Answer) -> Table:
    table = Table(box=SIMPLE)
    metrics = set(answer.question.metrics)
    for column in answer.columns:
        table.add_column(column, justify="right" if column in metrics else "left")
    for row in answer.rows:
        table.add_row(
            *(
                _formatted(value, METRICS_BY_NAME[column].format)
                if column in metrics
                else (NONE_SHOWN if value is None else text_value(value))
                for column, value in zip(answer.columns, row, strict=True)
            )
        )
    return table


def catalogue_json() -> str:
    return json.dumps(
        {
            "metrics": [
                {
                    "name": m.name,
                    "label": m.label,
                    "description": m.description,
                    "format": m.format,
                    "aggregation": m.aggregation,
                    "measures": list(m.measures),
                }
                for m in METRICS
            ],
            "dimensions": [
                {
                    "name": d.name,
                    "label": d.label,
                    "description": d.description,
                    "type": d.type,
                    "level": d.level,
                }
                for d in DIMENSIONS
            ],
        },
        indent=2,
    )


def catalogue_tables() -> list[Table]:
    metrics = Table(title="metrics", box=SIMPLE, title_justify="left")
    for column in ("metric", "label", "aggregation", "format", "definition"):
        metrics.add_column(column)
    for m in METRICS:
        metrics.add_row(m.name, m.label, m.aggregation, m.format, m.description)
    dimensions = Table(title="dimensions", box=SIMPLE, title_justify="left")
    for column in ("dimension", "label", "type", "level", "definition"):
        dimensions.add_column(column)
    for d in DIMENSIONS:
        dimensions.add_row(d.name, d.label, d.type, d.level, d.description)
    return [metrics, dimensions]
