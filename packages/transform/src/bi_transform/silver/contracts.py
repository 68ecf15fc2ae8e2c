"""The contract gate: a table is published only when its pandera model accepts it.

The column names and types are compared first, from the model's declaration and the DataFrame's
schema (no Spark action); pandera then checks nullability and key uniqueness, each one Spark action,
and its error report is turned into one message naming the table, the column and the check.
"""

from __future__ import annotations

from typing import Any

from pandera.pyspark import DataFrameModel
from pyspark.sql import DataFrame

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


def check(table: str, model: type[DataFrameModel[Any]], frame: DataFrame) -> None:
    """Raise ContractBroken naming every broken column and check; return quietly when the table passes."""
    problems = _dtype_problems(table, model, frame)
    if not problems:
        validated: Any = model.validate(frame)  # type: ignore[arg-type]
        problems = _report_problems(table, validated.pandera.errors)
    if problems:
        raise ContractBroken(f"contract broken, nothing published: {'; '.join(problems)}")
