"""What to extract from each source table and how: declared once, one spec per table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from bi_lake.source_keys import DATE_DIM_KEY, ORDER_ITEM_OPTIONS_KEY, ORDER_ITEMS_KEY, RESTAURANTS_KEY

ExtractionMode = Literal["cursor", "parent", "full"]


@dataclass(frozen=True)
class ExtractionSpec:
    """How one table is extracted.

    - `cursor`: incremental on `cursor` (a timestamp column); each run re-reads `lookback` before the
      watermark so rows that arrive late, dated inside that window, are picked up.
    - `parent`: the table has no time column of its own; it follows its parent's window, taking the
      rows whose `parent_key` matches a parent row in the window (everything on a full extraction).
    - `full`: small reference table, extracted whole every run.

    An `optional` table may be missing from a source: the run then goes on without it, as if it were
    not declared (no Bronze partition, no manifest entry, no watermark).
    """

    table: str
    key: tuple[str, ...]
    mode: ExtractionMode
    cursor: str | None = None
    lookback: dt.timedelta = dt.timedelta(0)
    parent: str | None = None
    parent_key: tuple[str, ...] = ()
    optional: bool = False

    def __post_init__(self) -> None:
        if (self.mode == "cursor") != (self.cursor is not None):
            raise ValueError(f"{self.table}: a cursor column goes with mode 'cursor' only")
        if (self.mode == "parent") != bool(self.parent and self.parent_key):
            raise ValueError(f"{self.table}: mode 'parent' needs a parent table and key")
        if self.optional and self.mode != "full":
            # A missing parent would leave its children without a window; a missing cursor table, its
            # watermark without a meaning.
            raise ValueError(f"{self.table}: only a table extracted in full may be optional")

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.key, *((self.cursor,) if self.cursor else ()), *self.parent_key)))


SPECS: tuple[ExtractionSpec, ...] = (
    ExtractionSpec(
        table="order_items",
        key=ORDER_ITEMS_KEY,
        mode="cursor",
        cursor="creation_time_utc",
        lookback=dt.timedelta(days=3),
    ),
    ExtractionSpec(
        table="order_item_options",
        key=ORDER_ITEM_OPTIONS_KEY,
        mode="parent",
        parent="order_items",
        parent_key=("order_id",),
    ),
    ExtractionSpec(table="date_dim", key=DATE_DIM_KEY, mode="full"),
    # Names and places of the restaurants: many sources lack the table, and it is small, so it is
    # read whole every run and the latest extract is the truth.
    ExtractionSpec(table="restaurants", key=RESTAURANTS_KEY, mode="full", optional=True),
)


def spec_for(table: str) -> ExtractionSpec:
    for spec in SPECS:
        if spec.table == table:
            return spec
    raise KeyError(table)
