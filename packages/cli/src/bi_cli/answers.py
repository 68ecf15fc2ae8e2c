"""How `bi query` and `bi metrics` print as tables for people (CSV and JSON: `bi_metrics.formatting`)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from rich.box import SIMPLE
from rich.table import Table

from bi_contracts.restaurants import NAME_COLUMN, RESTAURANT_COLUMN
from bi_metrics.catalogue import DIMENSIONS, METRICS
from bi_metrics.engine import Answer
from bi_metrics.formatting import Value, metric_text
from bi_metrics.labels import header, value_text, words
from bi_metrics.restaurants import name_of


def answer_table(answer: Answer, currency: str, restaurant_names: Mapping[str, str] | None = None) -> Table:
    """The answer as a reader sees it on the dashboard: headers in words, money in its currency, flags
    and codes in words, a restaurant by its name (`restaurant_names`, from Gold's lookup; the fallback
    label for an id it lacks), never by its 24-character id. CSV and JSON keep the raw values."""
    table = Table(box=SIMPLE)
    metrics = set(answer.question.metrics)
    for column in answer.columns:
        table.add_column(
            header(NAME_COLUMN if column == RESTAURANT_COLUMN else column),  # the id column shows names
            justify="right" if column in metrics else "left",
        )
    names = restaurant_names or {}

    def cell(column: str, value: Value) -> str:
        if column in metrics:
            return metric_text(column, value, currency=currency)
        if column == RESTAURANT_COLUMN and value is not None:
            return name_of(names, str(value))
        return value_text(column, value)

    rows = answer.rows
    first = answer.question.by[0] if answer.question.by else None
    if first is not None and words(first).order:
        # A category in its business order (VIP before Lost), as the dashboard lists it.
        rows = sorted(rows, key=lambda row: words(first).rank(value_text(first, row[0])))
    for row in rows:
        table.add_row(*(cell(column, value) for column, value in zip(answer.columns, row, strict=True)))
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
