"""Money is exact decimal arithmetic: every amount Silver publishes is the contracts' AMOUNT type."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

from bi_contracts.money import AMOUNT

MONEY = DecimalType(AMOUNT.precision, AMOUNT.scale)


def money(column: Column) -> Column:
    return column.cast(MONEY)


def zero() -> Column:
    return F.lit(0).cast(MONEY)
