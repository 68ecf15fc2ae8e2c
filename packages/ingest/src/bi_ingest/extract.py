"""Extraction windows, the dialect-neutral extraction queries, and streaming their rows as Arrow chunks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa

from bi_ingest.bronze import LINEAGE_FIELDS
from bi_ingest.specs import ExtractionSpec
from bi_ingest.types import arrow_type, value_converter
from bi_lake.errors import UserError

WindowMode = Literal["full", "incremental", "range"]


@dataclass(frozen=True)
class Window:
    """Which cursor values a run extracts.

    - full: everything up to `upper` (the cursor's high-water mark when the run started);
    - incremental: after `lower` (watermark minus lookback, exclusive) up to `upper`;
    - range: from `lower` (inclusive) to `upper` (exclusive), a re-extraction that moves no watermark.

    Rows whose cursor is NULL cannot be tracked by a watermark; full and incremental windows take them
    every time, so they always reach Bronze (and Silver's quarantine).
    """

    mode: WindowMode
    lower: dt.datetime | None = None
    upper: dt.datetime | None = None

    def predicate(self, cursor: sa.ColumnElement[Any]) -> sa.ColumnElement[bool] | None:
        if self.mode == "range":
            assert self.lower is not None and self.upper is not None
            return sa.and_(cursor >= self.lower, cursor < self.upper)
        bounds: list[sa.ColumnElement[bool]] = []
        if self.lower is not None:
            bounds.append(cursor > self.lower)
        if self.upper is not None:
            bounds.append(cursor <= self.upper)
        if not bounds:
            return None
        return sa.or_(sa.and_(*bounds), cursor.is_(None))


def plan_window(
    spec: ExtractionSpec,
    watermark: dt.datetime | None,
    high_water: dt.datetime | None,
    full_refresh: bool,
    start: dt.date | None,
    end: dt.date | None,
) -> Window:
    """The window of a cursor table for this run."""
    if start is not None or end is not None:
        lower = dt.datetime.combine(start or dt.date.min, dt.time())
        upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time()) if end else dt.datetime.max
        return Window("range", lower, upper)
    if full_refresh or watermark is None:
        return Window("full", None, high_water)
    return Window("incremental", watermark - spec.lookback, high_water)


def extraction_query(
    spec: ExtractionSpec,
    table: sa.Table,
    window: Window | None,
    parent: sa.Table | None = None,
    parent_spec: ExtractionSpec | None = None,
) -> sa.Select[Any]:
    """The SELECT that extracts `table` for `window` (the parent's window for a `parent` table).

    Its columns come back as the driver delivers them (no per-value conversion by SQLAlchemy): Arrow
    converts whole columns at once, which is several times faster (see `bronze_array`).
    """
    raw_columns: list[sa.ColumnElement[Any]] = [
        sa.type_coerce(column, sa.types.NullType()).label(column.name) for column in table.c
    ]
    query: sa.Select[Any] = sa.select(*raw_columns)
    if window is None or spec.mode == "full":
        return query
    if spec.mode == "cursor":
        assert spec.cursor is not None
        condition = window.predicate(table.c[spec.cursor])
        return query if condition is None else query.where(condition)
    assert parent is not None and parent_spec is not None and parent_spec.cursor is not None
    if window.mode == "full":
        # A full extraction takes every row, orphans pointing at no parent included.
        return query
    condition = window.predicate(parent.c[parent_spec.cursor])
    assert condition is not None
    if len(spec.parent_key) == 1:
        key = spec.parent_key[0]
        return query.where(table.c[key].in_(sa.select(parent.c[key]).where(condition)))
    matches = sa.and_(*(parent.c[key] == table.c[key] for key in spec.parent_key), condition)
    return query.where(sa.exists().where(matches))


def count_query(query: sa.Select[Any]) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(query.subquery())


def high_water_query(table: sa.Table, cursor: str) -> sa.Select[Any]:
    return sa.select(sa.func.max(table.c[cursor]))


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    arrow: pa.DataType
    nullable: bool
    convert: Callable[[list[Any]], list[Any]] | None


def column_plans(table: sa.Table) -> list[ColumnPlan]:
    return [
        ColumnPlan(
            column.name,
            arrow_type(column.name, column.type),
            bool(column.nullable),
            value_converter(column.type),
        )
        for column in table.columns
    ]


def bronze_schema(plans: list[ColumnPlan]) -> pa.Schema:
    # Source nullability is recorded in the manifest but not enforced here: Bronze keeps what came.
    return pa.schema([pa.field(plan.name, plan.arrow) for plan in plans] + list(LINEAGE_FIELDS))


def stream_chunks(
    batches: Iterator[Sequence[pa.Array]],
    plans: list[ColumnPlan],
    schema: pa.Schema,
    lineage: tuple[str, str, dt.datetime],
    cursor: str | None,
) -> Iterator[pa.Table]:
    """A reader's chunks (see readers.py) as Bronze tables: each column cast to its Bronze type, the
    lineage columns added."""
    source_table, run_id, extracted_at = lineage
    cursor_index = next((i for i, plan in enumerate(plans) if plan.name == cursor), None)
    for columns in batches:
        count = len(columns[0]) if columns else 0
        arrays = [
            bronze_array(source_table, plan, column) for plan, column in zip(plans, columns, strict=True)
        ]
        arrays.append(pa.array([source_table] * count, pa.string()))
        arrays.append(pa.array([run_id] * count, pa.string()))
        arrays.append(pa.array([extracted_at] * count, LINEAGE_FIELDS[2].type))
        arrays.append(
            arrays[cursor_index] if cursor_index is not None else pa.nulls(count, LINEAGE_FIELDS[3].type)
        )
        yield pa.Table.from_arrays(arrays, schema=schema)


def bronze_array(table: str, plan: ColumnPlan, values: pa.Array) -> pa.Array:
    """One column of source values as its Bronze type, in one vectorised cast.

    Drivers differ in what they deliver (SQL Server: Decimal and datetime; SQLite: float, int and
    ISO text): text timestamps are read as naive UTC, floats are rounded to the decimal scale, and a
    value that does not fit fails.
    """
    try:
        if values.type == plan.arrow:
            return values
        if pa.types.is_timestamp(plan.arrow) and pa.types.is_string(values.type):
            values = values.cast(pa.timestamp("us"))
        if pa.types.is_decimal(plan.arrow) and pa.types.is_integer(values.type):
            # Whole amounts come from SQLite as integers; Arrow casts an integer only to a decimal with
            # room for any int64, and the narrowing cast then checks each value fits.
            values = values.cast(pa.decimal256(76, plan.arrow.scale))
        return values.cast(plan.arrow)
    except (pa.ArrowException, ArithmeticError, ValueError, TypeError) as exc:
        raise UserError(
            f"{table}: column {plan.name!r} holds a value that is not {plan.arrow}: {exc}"
        ) from None
