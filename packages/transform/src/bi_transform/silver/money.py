"""Money is exact decimal arithmetic: one DECIMAL type for every amount Silver publishes."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

MONEY = DecimalType(18, 2)


def money(column: Column) -> Column:
    return column.cast(MONEY)


def zero() -> Column:
    return F.lit(0).cast(MONEY)
