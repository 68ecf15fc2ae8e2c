"""Reading an extraction query's result as chunks of Arrow columns, holding one chunk at a time.

Two readers deliver the same thing, the source values as the driver has them (SQLite: integer, real
and text; SQL Server: Decimal, datetime, ...), which `extract.bronze_array` then casts to the Bronze
types one way for both:

- `driver_rows`: SQLAlchemy's driver rows, turned into Arrow column by column; any dialect.
- `sqlite_arrow`: SQLite's ADBC driver, which builds Arrow columns itself: for a SQLite file source,
  where it fetches about twice as fast and leaves no per-value work in Python (bench/run.py).

SQLite lets any column hold any kind of value. The ADBC driver fixes each column's type from the first
chunk and stops with `MixedTypes` when a later chunk differs (a column NULL throughout the first
chunk and text later, an integer column holding 2.5): the job then reads that table again through
`driver_rows`, which infers every chunk.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any, Literal

import adbc_driver_manager
import adbc_driver_sqlite
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from bi_ingest.extract import ColumnPlan
from bi_ingest.source import error_line, sqlite_path
from bi_lake.errors import UserError

Columns = Sequence[pa.Array]
Reader = Literal["driver_rows", "sqlite_arrow"]


class MixedTypes(Exception):
    def __init__(self, column: str, detail: str) -> None:
        super().__init__(f"column {column!r} holds values of more than one kind ({detail})")
        self.column = column


def driver_rows(
    connection: sa.Connection, query: sa.Select[Any], table: str, plans: Sequence[ColumnPlan], chunk_rows: int
) -> Iterator[Columns]:
    result = connection.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
    # The Arrow type each column's values had in the first chunk, where Arrow checks values against it
    # strictly: telling Arrow the type saves it a pass over every value to infer it.
    known: list[pa.DataType | None] = [None] * len(plans)
    try:
        for rows in result.partitions(chunk_rows):
            values = list(zip(*rows, strict=True))
            yield [_driver_array(table, plan, values[i], known, i) for i, plan in enumerate(plans)]
    except (ArithmeticError, ValueError, TypeError) as exc:
        # The driver or SQLAlchemy could not turn a stored value into its declared type.
        raise UserError(f"{table}: a source value could not be read: {error_line(exc)}") from None


def _driver_array(
    table: str, plan: ColumnPlan, values: Sequence[Any], known: list[pa.DataType | None], index: int
) -> pa.Array:
    if plan.convert:
        values = plan.convert(list(values))
    if known[index] is not None:
        try:
            return pa.array(values, known[index])
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # this chunk's values differ (a wider decimal, text among numbers): infer them
    try:
        array = pa.array(values)
    except (pa.ArrowException, OverflowError) as exc:
        raise UserError(
            f"{table}: column {plan.name!r} holds a value that is not {plan.arrow}: {exc}"
        ) from None
    if _strict(array.type):
        known[index] = array.type
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


_MISMATCH = re.compile(r"Type mismatch in column (\d+)")


def sqlite_arrow_file(url: str) -> Path | None:
    """The database file `sqlite_arrow` can read for this source URL: a plain SQLite file through the
    standard driver. An encrypted one (a SQLCipher URL, with its key as the password) is not."""
    parsed = make_url(url)
    if parsed.get_driver_name() != "pysqlite" or parsed.password:
        return None
    return sqlite_path(url)


def sqlite_arrow(
    database: Path, query: sa.Select[Any], table: str, plans: Sequence[ColumnPlan], chunk_rows: int
) -> Iterator[Columns]:
    # Read-only: extraction never writes to the source, not even a journal.
    uri = f"file:{urllib.parse.quote(str(database.resolve()))}?mode=ro"
    # The values a window compares against are rendered as SQLite's dialect binds them (ISO text for
    # date-times), so both readers select the same rows.
    sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    # The driver's own objects, not its DB-API module, whose imports (pandas) cost a second per run.
    with ExitStack() as resources:
        try:
            opened = resources.enter_context(closing(adbc_driver_sqlite.connect(uri)))
            connection = resources.enter_context(closing(adbc_driver_manager.AdbcConnection(opened)))
            statement = resources.enter_context(closing(adbc_driver_manager.AdbcStatement(connection)))
            statement.set_options(**{"adbc.sqlite.query.batch_rows": str(chunk_rows)})
            statement.set_sql_query(sql)
            stream, _ = statement.execute_query()
            batches = resources.enter_context(closing(pa.RecordBatchReader.from_stream(stream)))
            for batch in batches:
                yield batch.columns
        except OSError as exc:
            mismatch = _MISMATCH.search(str(exc))
            if mismatch is None:
                raise UserError(f"{table}: {error_line(exc)}") from None
            raise MixedTypes(plans[int(mismatch[1])].name, str(exc).strip()) from None
        except adbc_driver_manager.Error as exc:
            raise UserError(f"{table}: {error_line(exc)}") from None
