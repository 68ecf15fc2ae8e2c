"""The contract gate: a table is published only when its pandera schema accepts it.

A Silver table's schema is made from its declaration (`bi_contracts.silver`: columns, types, NULLs
allowed, key) by `schema_of`. The column names and types are compared first, from the schema and the
DataFrame's (no Spark action). The checks every schema declares (no NULL where a column is not nullable,
unique keys) are counted in one Spark action for the whole table: pandera runs one action per
column for them, which costs more than building a small table. pandera validates the rest of the
schema (value checks, where a schema declares them). Problems become one message naming the table,
the column and the check, and a few of the rows at fault: for a repeated key, the key and the values
its rows disagree on; for a NULL, the row's key. The message shows what tells an operator whether the
data or the code is at fault; the exception's details carry the whole rows into the run report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import pyspark.sql.types as T
from pandera.api.pyspark.container import DataFrameSchema
from pandera.pyspark import Column
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bi_contracts.silver import SilverTable
from bi_lake.errors import UserError
from bi_transform.tables import spark_type


class ContractBroken(UserError):
    """A Silver table does not meet its contract; nothing was published."""


# How many keys or rows at fault a message names, and how many rows the report keeps per problem.
SHOWN = 3
KEPT = 20


def _plain(value: Any) -> Any:
    """A value as JSON holds it and a message shows it."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _shown(values: dict[str, Any]) -> str:
    return ", ".join(f"{name}={_plain(value)!r}" for name, value in values.items())


def _repeated_keys(frame: DataFrame, key: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """The most repeated keys (a few), with the values their rows disagree on; all of their rows."""
    repeated = (
        frame.groupBy(*key).count().where(F.col("count") > 1).orderBy(F.desc("count"), *key).limit(SHOWN)
    )
    same_key = [F.col(f"_f.{name}").eqNullSafe(F.col(f"_k.{name}")) for name in key]
    matched = frame.alias("_f").join(repeated.alias("_k"), same_key, "left_semi").limit(KEPT * SHOWN)
    rows = [{name: _plain(value) for name, value in row.asDict().items()} for row in matched.collect()]
    by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault(tuple(row[name] for name in key), []).append(row)
    shown = []
    for values, group in by_key.items():
        differing = [name for name in group[0] if name not in key and len({repr(r[name]) for r in group}) > 1]
        disagreement = "; ".join(f"{name} {[r[name] for r in group]}" for name in differing)
        shown.append(
            f"({_shown(dict(zip(key, values, strict=True)))}) in {len(group)} rows, "
            + (f"differing in {disagreement}" if differing else "identical")
        )
    return "; ".join(shown), rows[:KEPT]


def _null_rows(frame: DataFrame, column: str, key: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """A few rows with a NULL in `column`, named by their key (or their first columns)."""
    rows = [
        {name: _plain(value) for name, value in row.asDict().items()}
        for row in frame.where(F.col(column).isNull()).limit(KEPT).collect()
    ]
    naming = key or frame.columns[:SHOWN]
    return "; ".join(f"({_shown({n: r[n] for n in naming})})" for r in rows[:SHOWN]), rows


def schema_of(table: SilverTable) -> DataFrameSchema:
    """A Silver table's contract as a pandera schema: its columns, types and NULLs, its unique key."""
    # pandera's PySpark columns take a Spark type instance, which its annotations do not list.
    columns: dict[str, Any] = {
        c.name: Column(cast(Any, spark_type(c.type)), nullable=c.nullable) for c in table.columns
    }
    return DataFrameSchema(
        columns,
        unique=list(table.key),
        name=table.name,
    )


def spark_schema(table: SilverTable) -> T.StructType:
    return T.StructType([T.StructField(c.name, spark_type(c.type), c.nullable) for c in table.columns])


def _dtype_problems(table: str, schema: DataFrameSchema, frame: DataFrame) -> list[str]:
    declared = {name: column.dtype.type for name, column in schema.columns.items()}
    actual = {field.name: field.dataType for field in frame.schema.fields}
    problems = [f"{table}.{name}: column is missing" for name in declared if name not in actual]
    problems += [
        f"{table}.{name}: type is {actual[name].simpleString()}, "
        f"the contract says {spark_type.simpleString()}"
        for name, spark_type in declared.items()
        if name in actual and actual[name] != spark_type
    ]
    problems += [f"{table}.{name}: column is not in the contract" for name in actual if name not in declared]
    return problems


def _report_problems(table: str, errors: Any) -> list[str]:
    problems = []
    for category in errors.values():
        for entries in category.values():
            for entry in entries:
                column = entry.get("column")
                where = table if column in (None, entry.get("schema")) else f"{table}.{column}"
                problems.append(f"{where}: {entry.get('check')} failed ({entry.get('error')})")
    return problems


@dataclass(frozen=True)
class Problem:
    message: str
    rows: list[dict[str, Any]]


def _data_problems(table: str, schema: DataFrameSchema, frame: DataFrame) -> tuple[int, list[Problem]]:
    """The rows, and the NULLs in the columns declared not nullable and repeated keys, counted in one
    Spark action."""
    not_null = [name for name, column in schema.columns.items() if not column.nullable]
    unique = list(schema.unique or [])
    counts = [F.count(F.lit(1)).alias("rows")]
    counts += [F.sum(F.col(name).isNull().cast("long")).alias(f"null_{i}") for i, name in enumerate(not_null)]
    if unique:
        # A struct is never NULL, so keys with NULL parts are counted and compared like any other.
        counts.append(F.count_distinct(F.struct(*unique)).alias("keys"))
    row = frame.agg(*counts).first()
    if row is None:
        raise RuntimeError(f"{table}: an aggregate without a GROUP BY returned no row")
    problems = []
    # Only a broken contract pays for the rows at fault: one more action per problem.
    for i, name in enumerate(not_null):
        if row[f"null_{i}"]:
            shown, rows = _null_rows(frame, name, unique)
            nulls = row[f"null_{i}"]
            problems.append(
                Problem(f"{table}.{name}: not_nullable failed ({nulls:,} NULL value(s)), e.g. {shown}", rows)
            )
    if unique and row["keys"] != row["rows"]:
        surplus, key = row["rows"] - row["keys"], ", ".join(unique)
        shown, rows = _repeated_keys(frame, unique)
        problems.append(
            Problem(f"{table}: unique failed ({surplus:,} surplus row(s) share a ({key}) key): {shown}", rows)
        )
    return int(row["rows"]), problems


def check_columns(table: str, schema: DataFrameSchema, frame: DataFrame) -> None:
    """Raise ContractBroken unless the frame has the contract's columns and types (no Spark action):
    checked before a table is written, so that no file of a wrong type is ever made."""
    if problems := _dtype_problems(table, schema, frame):
        raise ContractBroken(f"contract broken, nothing published: {'; '.join(problems)}")


def check(table: str, schema: DataFrameSchema, frame: DataFrame) -> int:
    """Raise ContractBroken naming every broken column and check; the table's rows when it passes."""
    problems = _dtype_problems(table, schema, frame)
    at_fault: list[Problem] = []
    rows = 0
    if not problems:
        # pandera validates everything else the schema declares; nullability and uniqueness are
        # counted by _data_problems in one action instead of pandera's one action per column.
        relaxed = schema.update_columns({name: {"nullable": True} for name in schema.columns})
        relaxed.unique = None
        validated: Any = relaxed.validate(frame)
        rows, at_fault = _data_problems(table, schema, frame)
        problems = _report_problems(table, validated.pandera.errors) + [p.message for p in at_fault]
    if problems:
        kept = " (the rows are kept in the run report)" if at_fault else ""
        details = {"contract": {"table": table, "problems": [vars(p) for p in at_fault]}}
        raise ContractBroken(f"contract broken, nothing published: {'; '.join(problems)}{kept}", details)
    return rows
