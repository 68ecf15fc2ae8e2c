"""What Gold holds to ask about: the values a text dimension takes and the dates the orders span, so a
filter naming a value the data does not have is an error that suggests the nearest, and a range
outside the data is said, rather than answered with a silent zero."""

from __future__ import annotations

import datetime as dt
import difflib

from bi_lake.errors import UserError
from bi_metrics.catalogue import DIMENSIONS_BY_NAME
from bi_metrics.engine import MetricsEngine
from bi_metrics.question import Question

SUGGESTIONS = 3


def values_of(engine: MetricsEngine, dimension: str) -> list[str]:
    """Every value a text dimension takes anywhere in Gold."""
    rows = engine.ask(Question(metrics=("orders",), by=(dimension,))).rows
    return [str(row[0]) for row in rows if row[0] is not None]


def suggestion(value: str, known: list[str]) -> str:
    """`did you mean ...?` for the known values nearest to `value` (a case difference first)."""
    same_but_case = [k for k in known if k.casefold() == value.casefold()]
    near = same_but_case or difflib.get_close_matches(value, known, n=SUGGESTIONS, cutoff=0.5)
    if near:
        return "did you mean " + " or ".join(repr(n) for n in near) + "?"
    shown = ", ".join(repr(k) for k in known[:SUGGESTIONS])
    more = f" and {len(known) - SUGGESTIONS:,} more" if len(known) > SUGGESTIONS else ""
    return f"it has {shown}{more}" if known else "it has none"


def check_filter_values(engine: MetricsEngine, question: Question) -> None:
    """A text filter's values must be values of the data: otherwise one line naming the nearest."""
    for name, values in question.where:
        if DIMENSIONS_BY_NAME[name].type != "string":
            continue
        known = values_of(engine, name)
        for value in values:
            if str(value) not in known:
                raise UserError(f"{name}={value} is not in the data: {suggestion(str(value), known)}")


def order_dates(engine: MetricsEngine) -> tuple[dt.date, dt.date] | None:
    """The first and last order dates in Gold; None without orders."""
    first, last = engine.query("SELECT min(order_date), max(order_date) FROM agg_sales_daily")[0]
    return (first, last) if isinstance(first, dt.date) and isinstance(last, dt.date) else None


def range_outside_data(engine: MetricsEngine, question: Question) -> str | None:
    """A warning when the asked dates miss the data's, in part or in whole; None when they are within."""
    if question.start is None and question.end is None:
        return None
    span = order_dates(engine)
    if span is None:
        return "Gold holds no orders"
    first, last = span
    start, end = question.start or first, question.end or last
    if end < first or start > last:
        return f"{start} .. {end} is outside the data, which spans {first} .. {last}: nothing is counted"
    if start < first or end > last:
        return f"{start} .. {end} reaches beyond the data, which spans {first} .. {last}"
    return None
