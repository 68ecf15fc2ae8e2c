"""A metric question: metrics x dimensions x `DIM=VALUE` filters x an order-date range, validated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bi_lake.errors import UserError
from bi_metrics.catalogue import DIMENSIONS_BY_NAME, Dimension, dimension, metric

FilterValue = str | int | bool | dt.date
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


@dataclass(frozen=True)
class Question:
    """Hashable, so answers can be cached by question."""

    metrics: tuple[str, ...]
    by: tuple[str, ...] = ()
    # dimension -> the values it may take (one value or several)
    where: tuple[tuple[str, tuple[FilterValue, ...]], ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if not self.metrics:
            raise UserError("ask for at least one metric")
        for name in self.metrics:
            metric(name)
        for name in (*self.by, *(dim for dim, _ in self.where)):
            dimension(name)
        for name in set(self.by):
            if self.by.count(name) > 1:
                raise UserError(f"dimension {name!r} is asked for twice in --by")
        if self.start and self.end and self.start > self.end:
            raise UserError(f"--start {self.start} is after --end {self.end}")

    @property
    def filters(self) -> dict[str, tuple[FilterValue, ...]]:
        return dict(self.where)

    def fixed_dimensions(self) -> set[str]:
        """The dimensions that take one value within each answer row: grouped by, or filtered to one value."""
        return set(self.by) | {name for name, values in self.where if len(values) == 1}


def parse_value(dim: Dimension, text: str) -> FilterValue:
    parsers: dict[str, Callable[[str], FilterValue]] = {
        "date": _date,
        "boolean": _boolean,
        "integer": _integer,
        "string": str,
    }
    try:
        return parsers[dim.type](text)
    except ValueError as exc:
        raise UserError(f"invalid value {text!r} for {dim.name}: {exc}") from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("expected a date YYYY-MM-DD") from None


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ValueError("expected true or false")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None


def parse_filters(expressions: Iterable[str]) -> tuple[tuple[str, tuple[FilterValue, ...]], ...]:
    """`DIM=VALUE` expressions; the same dimension given again widens it to any of the values."""
    values: dict[str, list[FilterValue]] = {}
    for expression in expressions:
        name, separator, text = expression.partition("=")
        name = name.strip()
        if not separator or not name:
            raise UserError(f"invalid filter {expression!r}: expected DIM=VALUE")
        if name not in DIMENSIONS_BY_NAME:
            dimension(name)
        value = parse_value(DIMENSIONS_BY_NAME[name], text)
        if value not in values.setdefault(name, []):
            values[name].append(value)
    return tuple((name, tuple(items)) for name, items in values.items())


def sql_literal(text: str) -> str:
    """A string as a DuckDB SQL literal, for the few places a statement cannot take parameters (DDL)."""
    return "'" + text.replace("'", "''") + "'"


def split_names(text: str | Sequence[str]) -> tuple[str, ...]:
    """`a,b` (or several such arguments) as names, blanks dropped."""
    parts = [text] if isinstance(text, str) else list(text)
    return tuple(name.strip() for part in parts for name in part.split(",") if name.strip())
