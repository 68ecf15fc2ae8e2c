"""SQL types (as SQLAlchemy reflects them, SQL Server's included) to Arrow types, faithfully.

Decimals stay decimals at their precision and scale, datetimes become UTC timestamps (the source
stores UTC in naive datetime2 columns), bit becomes boolean, uniqueidentifier becomes its text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


class UnsupportedType(Exception):
    def __init__(self, column: str, sql_type: sa.types.TypeEngine[Any]) -> None:
        super().__init__(f"column {column!r} has type {sql_type!r}, which has no Arrow mapping")


def _decimal(sql_type: sa.Numeric[Any]) -> pa.DataType:
    precision = sql_type.precision or 38
    scale = sql_type.scale or 0
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


# Checked in order: dialect-specific types first, since they subclass the generic ones.
_MAPPING: tuple[tuple[type[Any], Callable[[Any], pa.DataType]], ...] = (
    (mssql.UNIQUEIDENTIFIER, lambda t: pa.string()),
    (mssql.MONEY, lambda t: pa.decimal128(19, 4)),
    (mssql.SMALLMONEY, lambda t: pa.decimal128(10, 4)),
    (mssql.TINYINT, lambda t: pa.int16()),
    (mssql.DATETIMEOFFSET, lambda t: UTC_TIMESTAMP),
    (mssql.TIMESTAMP, lambda t: pa.binary()),  # rowversion: an opaque counter, not a time
    (sa.Boolean, lambda t: pa.bool_()),
    (sa.BigInteger, lambda t: pa.int64()),
    (sa.SmallInteger, lambda t: pa.int16()),
    (sa.Integer, lambda t: pa.int32()),
    (sa.Float, lambda t: pa.float64()),
    (sa.Numeric, _decimal),
    (sa.DateTime, lambda t: UTC_TIMESTAMP),
    (sa.Date, lambda t: pa.date32()),
    (sa.Time, lambda t: pa.time64("us")),
    (sa.Uuid, lambda t: pa.string()),
    (sa.String, lambda t: pa.string()),
    (sa.LargeBinary, lambda t: pa.binary()),
    (sa.types._Binary, lambda t: pa.binary()),
)


def arrow_type(column: str, sql_type: sa.types.TypeEngine[Any]) -> pa.DataType:
    """The Arrow type a source column is stored as in Bronze."""
    for sql_class, to_arrow in _MAPPING:
        if isinstance(sql_type, sql_class):
            return to_arrow(sql_type)
    raise UnsupportedType(column, sql_type)


def value_converter(sql_type: sa.types.TypeEngine[Any]) -> Callable[[list[Any]], list[Any]] | None:
    """A conversion of driver values Arrow cannot take as they are, or None when none is needed."""
    if isinstance(sql_type, sa.Uuid | mssql.UNIQUEIDENTIFIER):
        return lambda values: [str(v) if isinstance(v, uuid.UUID) else v for v in values]
    return None
