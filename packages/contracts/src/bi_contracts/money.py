"""Money, declared once: exact decimals with cents, never floating point.

An amount is what Silver keeps for a line, an option or an order. A total is Gold's sum of amounts
over any number of rows: ten more digits, the type Spark gives a sum of amounts, so no total is
rounded or overflows, and the type DuckDB reads back from Gold.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Money:
    precision: int
    scale: int = 2

    @property
    def sql(self) -> str:
        """The type as Iceberg, Spark and DuckDB spell it, e.g. `decimal(18,2)`."""
        return f"decimal({self.precision},{self.scale})"


AMOUNT = Money(18)
TOTAL = Money(28)
