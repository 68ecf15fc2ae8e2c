"""SQL Server's types map to Arrow types faithfully."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from bi_ingest.types import UTC_TIMESTAMP, UnsupportedType, arrow_type, value_converter

# The ignores: SQLAlchemy leaves a few of its SQL Server types' constructors unannotated.
CASES: list[tuple[sa.types.TypeEngine[Any], pa.DataType]] = [
    (mssql.VARCHAR(64), pa.string()),
    (mssql.NVARCHAR(128), pa.string()),
    (mssql.CHAR(3), pa.string()),
    (mssql.NCHAR(3), pa.string()),
    (mssql.BIT(), pa.bool_()),
    (mssql.TINYINT(), pa.int16()),
    (mssql.SMALLINT(), pa.int16()),
    (mssql.INTEGER(), pa.int32()),
    (mssql.BIGINT(), pa.int64()),
    (mssql.DECIMAL(10, 2), pa.decimal128(10, 2)),
    (mssql.NUMERIC(38, 6), pa.decimal128(38, 6)),
    (mssql.MONEY(), pa.decimal128(19, 4)),
    (mssql.SMALLMONEY(), pa.decimal128(10, 4)),
    (mssql.DATETIME(), UTC_TIMESTAMP),
    (mssql.DATETIME2(precision=3), UTC_TIMESTAMP),  # type: ignore[no-untyped-call]
    (mssql.SMALLDATETIME(), UTC_TIMESTAMP),
    (mssql.DATETIMEOFFSET(), UTC_TIMESTAMP),  # type: ignore[no-untyped-call]
    (mssql.DATE(), pa.date32()),
    (mssql.TIME(), pa.time64("us")),  # type: ignore[no-untyped-call]
    (mssql.UNIQUEIDENTIFIER(), pa.string()),
    (mssql.FLOAT(), pa.float64()),
    (mssql.VARBINARY(16), pa.binary()),  # type: ignore[no-untyped-call]
    # What SQLite reflects for the demo source.
    (sa.NUMERIC(10, 2), pa.decimal128(10, 2)),
    (sa.DATETIME(), UTC_TIMESTAMP),
    (sa.BOOLEAN(), pa.bool_()),
    (sa.DATE(), pa.date32()),
]


@pytest.mark.parametrize(("sql_type", "expected"), CASES, ids=[repr(case[0]) for case in CASES])
def test_sql_server_types_map_to_arrow(sql_type: sa.types.TypeEngine[Any], expected: pa.DataType) -> None:
    assert arrow_type("c", sql_type) == expected


def test_a_type_without_a_mapping_is_named() -> None:
    with pytest.raises(UnsupportedType, match="'shape'"):
        arrow_type("shape", sa.types.NullType())


def test_uniqueidentifier_values_become_text() -> None:
    import uuid

    convert = value_converter(mssql.UNIQUEIDENTIFIER())
    assert convert is not None
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert convert([value, None]) == [str(value), None]
    assert value_converter(mssql.VARCHAR(10)) is None


def test_decimals_survive_the_round_trip_exactly() -> None:
    from decimal import Decimal

    values = [Decimal("99999999.99"), Decimal("0.01"), Decimal("-2.00"), None]
    array = pa.array(values, type=arrow_type("item_price", mssql.DECIMAL(10, 2)))
    assert array.to_pylist() == values
