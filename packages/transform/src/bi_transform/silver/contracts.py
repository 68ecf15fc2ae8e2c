"""The contract gate: a table is published only when its pandera model accepts it.

The column names and types are compared first, from the model's declaration and the DataFrame's
schema (no Spark action). The checks every model declares (no NULL where a column is not nullable,
unique keys) are counted in one Spark action for the whole table: pandera runs one action per
column for them, which costs more than building a small table. pandera validates the rest of the
model (value checks, where a model declares them). Problems become one message naming the table,
the column and the check.
"""

from __future__ import annotations

from typing import Any

from pandera.api.pyspark.container import DataFrameSchema
from pandera.pyspark import DataFrameModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bi_lake.errors import UserError


class ContractBroken(UserError):
    """A Silver table does not meet its contract; nothing was published."""


def _dtype_problems(table: str, model: type[DataFrameModel[Any]], frame: DataFrame) -> list[str]:
    declared = {name: column.dtype.type for name, column in model.to_schema().columns.items()}
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


def _data_problems(table: str, schema: DataFrameSchema, frame: DataFrame) -> tuple[int, list[str]]:
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
    problems = [
        f"{table}.{name}: not_nullable failed ({row[f'null_{i}']:,} NULL value(s))"
        for i, name in enumerate(not_null)
        if row[f"null_{i}"]
    ]
    if unique and row["keys"] != row["rows"]:
        surplus, key = row["rows"] - row["keys"], ", ".join(unique)
        problems.append(f"{table}: unique failed ({surplus:,} surplus row(s) share a ({key}) key)")
    return int(row["rows"]), problems


def check(table: str, model: type[DataFrameModel[Any]], frame: DataFrame) -> int:
    """Raise ContractBroken naming every broken column and check; the table's rows when it passes."""
    problems = _dtype_problems(table, model, frame)
    rows = 0
    if not problems:
        schema = model.to_schema()
        # pandera validates everything else the model declares; nullability and uniqueness are
        # counted by _data_problems in one action instead of pandera's one action per column.
        relaxed = schema.update_columns({name: {"nullable": True} for name in schema.columns})
        relaxed.unique = None
        validated: Any = relaxed.validate(frame)
        rows, data_problems = _data_problems(table, schema, frame)
        problems = _report_problems(table, validated.pandera.errors) + data_problems
    if problems:
        raise ContractBroken(f"contract broken, nothing published: {'; '.join(problems)}")
    return rows
