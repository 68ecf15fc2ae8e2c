"""Extraction windows, the dialect-neutral extraction queries, and streaming their rows as Arrow chunks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa

from bi_ingest.bronze import LINEAGE_FIELDS
from bi_ingest.source import error_line
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
    converts whole columns at once, which is several times faster (see `_column_array`).
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
    connection: sa.Connection,
    query: sa.Select[Any],
    plans: list[ColumnPlan],
    schema: pa.Schema,
    chunk_rows: int,
    lineage: tuple[str, str, dt.datetime],
    cursor: str | None,
) -> Iterator[pa.Table]:
    """The query's rows as Arrow tables of at most `chunk_rows` rows, lineage columns added.

    Rows are fetched `chunk_rows` at a time from a streaming result, so memory holds one chunk.
    """
    source_table, run_id, extracted_at = lineage
    result = connection.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
    cursor_index = next((i for i, plan in enumerate(plans) if plan.name == cursor), None)
    # The Arrow type each column's driver values had in the first chunk, where Arrow checks values
    # against it strictly: telling Arrow the type saves it a pass over every value to infer it.
    driver_types: list[pa.DataType | None] = [None] * len(plans)
    try:
        for rows in result.partitions(chunk_rows):
            count = len(rows)
            columns = list(zip(*rows, strict=True))
            arrays = [
                _column_array(source_table, plan, columns[i], driver_types, i) for i, plan in enumerate(plans)
            ]
            arrays.append(pa.array([source_table] * count, pa.string()))
            arrays.append(pa.array([run_id] * count, pa.string()))
            arrays.append(pa.array([extracted_at] * count, LINEAGE_FIELDS[2].type))
            arrays.append(
                arrays[cursor_index] if cursor_index is not None else pa.nulls(count, LINEAGE_FIELDS[3].type)
            )
            yield pa.Table.from_arrays(arrays, schema=schema)
    except (ArithmeticError, ValueError, TypeError) as exc:
        # The driver or SQLAlchemy could not turn a stored value into its declared type.
        raise UserError(f"{source_table}: a source value could not be read: {error_line(exc)}") from None


def _driver_array(values: Sequence[Any], driver_types: list[pa.DataType | None], index: int) -> pa.Array:
    known = driver_types[index]
    if known is not None:
        try:
            return pa.array(values, known)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # this chunk's values differ (a wider decimal, text among numbers): infer them
    array = pa.array(values)
    if _strict(array.type):
        driver_types[index] = array.type
    return array


def _strict(arrow_type: pa.DataType) -> bool:
    """Whether Arrow refuses, rather than converts, a value of another kind given this type: integer,
    boolean and date types take a float by cutting it (2.5 -> 2), so a wrong value in a later chunk
    would pass unnoticed; those columns are inferred every chunk."""
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_float64(arrow_type)
    )


def _column_array(
    table: str, plan: ColumnPlan, values: Sequence[Any], driver_types: list[pa.DataType | None], index: int
) -> pa.Array:
    """One column of driver values as its Arrow type, converted in one vectorised cast.

    Drivers differ in what they deliver (SQL Server: Decimal and datetime; SQLite: float, int and
    ISO text), so the values are first taken as Arrow infers them (or as the first chunk's were, where
    that type is strict), then cast: text timestamps are
    read as naive UTC, floats are rounded to the decimal scale, and a value that does not fit fails.
    """
    try:
        array = _driver_array(plan.convert(list(values)) if plan.convert else values, driver_types, index)
        if array.type == plan.arrow:
            return array
        if pa.types.is_timestamp(plan.arrow) and pa.types.is_string(array.type):
            array = array.cast(pa.timestamp("us"))
        return array.cast(plan.arrow)
    except (pa.ArrowException, ArithmeticError, ValueError, TypeError) as exc:
        raise UserError(
            f"{table}: column {plan.name!r} holds a value that is not {plan.arrow}: {exc}"
        ) from None
