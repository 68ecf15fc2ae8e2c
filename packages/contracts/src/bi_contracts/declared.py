"""What Silver's tables and Gold's datasets share: named, typed columns that make an Iceberg table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bi_lake.tables import Partitioning, TableDeclaration


class TypedColumn(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


class DeclaredTable:
    """Mixed into a frozen dataclass declaring these attributes."""

    name: str
    description: str
    columns: Sequence[TypedColumn]
    partitioning: Partitioning | None

    @property
    def sort_order(self) -> tuple[str, ...]:
        """The columns the table's rows are sorted by within a file."""
        raise NotImplementedError

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def declaration(self) -> TableDeclaration:
        """The table as an Iceberg table."""
        return TableDeclaration(
            name=self.name,
            columns=tuple((column.name, column.type) for column in self.columns),
            partitioning=self.partitioning,
            sort_by=self.sort_order,
            description=self.description,
        )
