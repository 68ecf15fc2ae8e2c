"""Silver's table declarations hold together: each one a valid Iceberg schema whose key and partition
column are among its columns, and the pandera contract made from it says the same."""

from __future__ import annotations

import pytest

from bi_contracts.silver import TABLES, SilverTable
from bi_lake.tables import iceberg_type
from bi_transform.silver.contracts import schema_of, spark_schema


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_a_declaration_is_a_table_and_its_contract(table: SilverTable) -> None:
    names = table.column_names
    assert len(set(names)) == len(names)
    assert set(table.key) <= set(names) and table.key
    if table.partitioning is not None:
        assert table.partitioning.column in names
    for column in table.columns:
        iceberg_type(column.type)  # raises for a type the lake cannot register
    schema = schema_of(table)
    assert list(schema.columns) == list(names) and list(schema.unique or ()) == list(table.key)
    assert {name: spec.nullable for name, spec in schema.columns.items()} == {
        column.name: column.nullable for column in table.columns
    }
    assert [field.simpleString() for field in spark_schema(table).fields] == [
        f"{column.name}:{column.type}" for column in table.columns
    ]


def test_the_run_record_table_is_committed_last() -> None:
    """fct_order's commit carries the run's record, so it is the last table a run commits."""
    assert TABLES[-1].name == "fct_order"
    assert [t.name for t in TABLES[:5]] == [
        "dim_date",
        "dim_restaurant",
        "dim_item_spelling",
        "dim_item",
        "dim_customer",
    ]
