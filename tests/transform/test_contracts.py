"""The contract gate on a real SparkSession: what it lets through, and what it names when it does not."""

from __future__ import annotations

from typing import Any

import pyspark.sql.types as T
import pytest
from pandera.pyspark import DataFrameModel, Field
from pyspark.sql import DataFrame, SparkSession

from bi_transform.silver.contracts import ContractBroken, check

pytestmark = pytest.mark.spark

SCHEMA = "order_id string, lineitem_id string, quantity int, note string"


class Lines(DataFrameModel):
    order_id: T.StringType() = Field(nullable=False)
    lineitem_id: T.StringType() = Field(nullable=False)
    quantity: T.IntegerType() = Field(nullable=False)
    note: T.StringType() = Field(nullable=True)

    class Config:
        unique = ["order_id", "lineitem_id"]


class PositiveLines(Lines):
    quantity: T.IntegerType() = Field(nullable=False, gt=0)


def frame(spark: SparkSession, rows: list[tuple[Any, ...]], schema: str = SCHEMA) -> DataFrame:
    return spark.createDataFrame(rows, schema)


def broken(model: type[DataFrameModel], table: DataFrame) -> str:
    with pytest.raises(ContractBroken) as raised:
        check("lines", model.to_schema(), table)
    return str(raised.value)


def test_a_table_that_meets_its_contract_passes_with_its_row_count(spark: SparkSession) -> None:
    rows = [("o1", "l1", 1, None), ("o1", "l2", 2, "x"), ("o2", "l1", 1, None)]
    assert check("lines", Lines.to_schema(), frame(spark, rows)) == 3


def test_an_empty_table_meets_its_contract(spark: SparkSession) -> None:
    assert check("lines", Lines.to_schema(), frame(spark, [])) == 0


def test_nulls_in_columns_declared_not_nullable_are_named_with_their_count(spark: SparkSession) -> None:
    message = broken(
        Lines, frame(spark, [("o1", None, 1, None), ("o2", None, None, None), ("o3", "l1", 1, None)])
    )
    assert "lines.lineitem_id: not_nullable failed (2 NULL value(s))" in message
    assert "lines.quantity: not_nullable failed (1 NULL value(s))" in message
    assert "lines.order_id:" not in message and "note" not in message
    assert "nothing published" in message


def test_rows_with_a_null_are_named_by_their_key_and_kept_whole(spark: SparkSession) -> None:
    with pytest.raises(ContractBroken) as raised:
        check("lines", Lines.to_schema(), frame(spark, [("o1", "l1", None, "first"), ("o2", "l1", 1, None)]))
    assert "not_nullable failed (1 NULL value(s)), e.g. (order_id='o1', lineitem_id='l1')" in str(
        raised.value
    )
    assert raised.value.details == {
        "contract": {
            "table": "lines",
            "problems": [
                {
                    "message": "lines.quantity: not_nullable failed (1 NULL value(s)), "
                    "e.g. (order_id='o1', lineitem_id='l1')",
                    "rows": [{"order_id": "o1", "lineitem_id": "l1", "quantity": None, "note": "first"}],
                }
            ],
        }
    }


def test_a_repeated_key_is_named(spark: SparkSession) -> None:
    message = broken(
        Lines, frame(spark, [("o1", "l1", 1, None), ("o1", "l1", 2, None), ("o1", "l2", 1, None)])
    )
    assert "lines: unique failed (1 surplus row(s) share a (order_id, lineitem_id) key)" in message


def test_a_repeated_key_shows_its_rows_and_what_they_disagree_on(spark: SparkSession) -> None:
    rows: list[tuple[Any, ...]] = [
        ("o1", "l1", 1, "a"),
        ("o1", "l1", 2, "a"),
        ("o1", "l1", 3, "a"),
        ("o2", "l1", 1, "b"),
    ]
    rows += [("o2", "l1", 1, "b"), ("o3", "l1", 1, None)]
    with pytest.raises(ContractBroken) as raised:
        check("lines", Lines.to_schema(), frame(spark, rows))
    message = str(raised.value)
    # The most repeated key first, with the values its rows disagree on; a repeat of one row as such.
    assert (
        "(order_id='o1', lineitem_id='l1') in 3 rows, differing in quantity [1, 2, 3]; "
        "(order_id='o2', lineitem_id='l1') in 2 rows, identical"
    ) in message
    assert "o3" not in message and message.endswith("(the rows are kept in the run report)")
    (problem,) = raised.value.details["contract"]["problems"]
    assert sorted(tuple(row.values()) for row in problem["rows"]) == sorted(rows[:5])


def test_a_message_names_a_few_keys_however_many_repeat(spark: SparkSession) -> None:
    rows = [(f"o{n}", "l1", copy, None) for n in range(10) for copy in range(2)]
    message = broken(Lines, frame(spark, rows))
    assert "10 surplus row(s)" in message and message.count("in 2 rows") == 3


def test_a_key_repeated_with_null_parts_is_named_with_the_nulls(spark: SparkSession) -> None:
    message = broken(Lines, frame(spark, [("o1", None, 1, None), ("o1", None, 1, None)]))
    assert "lines.lineitem_id: not_nullable failed (2 NULL value(s))" in message
    assert "lines: unique failed (1 surplus row(s)" in message


def test_a_wrong_type_a_missing_and_an_extra_column_are_named_before_any_data_check(
    spark: SparkSession,
) -> None:
    table = frame(
        spark, [("o1", "l1", "1", "x")], "order_id string, lineitem_id string, quantity string, extra string"
    )
    message = broken(Lines, table)
    assert "lines.quantity: type is string, the contract says int" in message
    assert "lines.note: column is missing" in message
    assert "lines.extra: column is not in the contract" in message


def test_a_value_check_a_model_declares_is_left_to_pandera(spark: SparkSession) -> None:
    check("lines", PositiveLines.to_schema(), frame(spark, [("o1", "l1", 1, None)]))
    message = broken(PositiveLines, frame(spark, [("o1", "l1", 0, None), ("o1", "l2", 3, None)]))
    assert "lines.quantity: greater_than" in message
