"""What Silver publishes: its tables, declared once, and the record of a Silver run.

Each table is declared by its columns (type, whether NULL is allowed), its key and its partitioning:
the Iceberg schema it is registered with, and the contract the Silver job checks every table against
before publishing it (`bi_transform.silver.contracts` makes a pandera schema of it). Silver commits
its tables one at a time, the dimensions first and `fct_order` last; that last commit
carries the run's record in its snapshot summary: the Bronze runs consumed, the reconciliation, and
the snapshot of every table as the run left it. Gold reads each table at the snapshot the record
names, so it never sees a run that is half committed; `bi status` shows the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from bi_contracts.declared import DeclaredTable
from bi_contracts.money import AMOUNT
from bi_lake.source_keys import ORDER_ITEM_OPTIONS_KEY, ORDER_ITEMS_KEY
from bi_lake.tables import (
    SILVER_PUBLISHED_LAST,
    SILVER_RUN_PROPERTY,
    LayerTables,
    Partitioning,
)

# The fact tables are partitioned by the order's date.
BY_DAY = Partitioning(column="order_date", transform="day")
# The source's prices, as SQL Server keeps them.
PRICE = "decimal(10,2)"


@dataclass(frozen=True)
class SilverColumn:
    name: str
    type: str
    nullable: bool = False


@dataclass(frozen=True)
class SilverTable(DeclaredTable):
    name: str
    description: str
    columns: tuple[SilverColumn, ...]
    # Unique per row: the contract checks it, and files are sorted by it.
    key: tuple[str, ...]
    partitioning: Partitioning | None = None

    @property
    def sort_order(self) -> tuple[str, ...]:
        return self.key


def _columns(*specs: tuple[str, str] | tuple[str, str, bool]) -> tuple[SilverColumn, ...]:
    return tuple(SilverColumn(*spec) for spec in specs)


_NULLABLE = True

DIM_DATE = SilverTable(
    name="dim_date",
    description="Every date from the first to the last order, and the source calendar's span",
    columns=_columns(
        ("date_key", "date"),
        ("day_of_week", "string"),
        ("week", "int"),
        ("month", "int"),
        ("year", "int"),
        ("is_weekend", "boolean"),
        ("is_holiday", "boolean"),
        ("holiday_name", "string", _NULLABLE),
        ("source", "string"),
    ),
    key=("date_key",),
)
DIM_RESTAURANT = SilverTable(
    name="dim_restaurant",
    description="Every restaurant: its name and place from the source, its first and last order date",
    columns=_columns(
        ("restaurant_id", "string"),
        ("name", "string", _NULLABLE),
        ("city", "string", _NULLABLE),
        ("region", "string", _NULLABLE),
        ("opened_on", "date", _NULLABLE),
        # NULL only for a restaurant with no order yet.
        ("first_order_date", "date", _NULLABLE),
        ("last_order_date", "date", _NULLABLE),
        ("orders", "bigint"),
    ),
    key=("restaurant_id",),
)
DIM_ITEM_SPELLING = SilverTable(
    name="dim_item_spelling",
    description=(
        "Every spelling and category of an item among the kept lines, with its number of lines: what "
        "dim_item's name and category are chosen from, kept so a run counts only the lines it changes"
    ),
    columns=_columns(
        ("item_key", "string"),
        ("item_name_source", "string"),
        ("item_category", "string"),
        ("lines", "bigint"),
    ),
    key=("item_key", "item_name_source", "item_category"),
)
DIM_ITEM = SilverTable(
    name="dim_item",
    description="Every item with its canonical name and usual category",
    columns=_columns(
        ("item_key", "string"),
        ("item_name", "string"),
        ("item_category", "string"),
        ("lines", "bigint"),
    ),
    key=("item_key",),
)
DIM_CUSTOMER = SilverTable(
    name="dim_customer",
    description="Customers with their loyalty status history as type-2 rows",
    columns=_columns(
        ("user_id", "string"),
        ("loyalty_member", "boolean"),
        ("valid_from", "timestamp"),
        ("valid_to", "timestamp", _NULLABLE),
        ("is_current", "boolean"),
        ("first_order_date", "date"),
        ("last_order_date", "date"),
        ("orders", "bigint"),
    ),
    key=("user_id", "valid_from"),
)
FCT_ORDER_OPTION = SilverTable(
    name="fct_order_option",
    description="The kept add-ons and discounts, one row per distinct option row, by order date",
    columns=_columns(
        ("order_id", "string"),
        ("lineitem_id", "string"),
        ("option_group_name", "string", _NULLABLE),
        ("option_name", "string", _NULLABLE),
        ("option_price", PRICE),
        ("option_quantity", "int"),
        ("option_amount", AMOUNT.sql),
        ("order_date", "date"),
    ),
    key=ORDER_ITEM_OPTIONS_KEY,
    partitioning=BY_DAY,
)
FCT_ORDER_LINE = SilverTable(
    name="fct_order_line",
    description="One row per kept order line, with its option amounts and the metrics' building blocks",
    columns=_columns(
        ("order_id", "string"),
        ("lineitem_id", "string"),
        ("order_date", "date"),
        ("creation_time_utc", "timestamp"),
        ("restaurant_id", "string"),
        ("app_name", "string"),
        ("user_id", "string", _NULLABLE),
        ("is_loyalty", "boolean"),
        ("printed_card_number", "string", _NULLABLE),
        ("item_key", "string"),
        ("item_name_source", "string"),
        ("item_category", "string"),
        ("item_price", PRICE),
        ("item_quantity", "int"),
        ("option_amount", AMOUNT.sql),
        ("line_net", AMOUNT.sql),
        ("line_gross", AMOUNT.sql),
        ("line_discount", AMOUNT.sql),
        ("extracted_at", "timestamp"),
        ("ingest_run_id", "string"),
    ),
    key=ORDER_ITEMS_KEY,
    partitioning=BY_DAY,
)
FCT_ORDER = SilverTable(
    name=SILVER_PUBLISHED_LAST,
    description="One row per order, from its kept lines",
    columns=_columns(
        ("order_id", "string"),
        ("order_date", "date"),
        ("order_time_utc", "timestamp"),
        ("restaurant_id", "string"),
        ("app_name", "string"),
        ("user_id", "string", _NULLABLE),
        ("is_loyalty", "boolean"),
        ("lines", "bigint"),
        ("items", "bigint"),
        ("net_amount", AMOUNT.sql),
        ("gross_amount", AMOUNT.sql),
        ("discount_amount", AMOUNT.sql),
        ("is_discounted", "boolean"),
    ),
    key=("order_id",),
    partitioning=BY_DAY,
)

# In the order a run commits them: the dimensions before the facts that name them, fct_order last
# (its commit carries the run's record).
TABLES: tuple[SilverTable, ...] = (
    DIM_DATE,
    DIM_RESTAURANT,
    DIM_ITEM_SPELLING,
    DIM_ITEM,
    DIM_CUSTOMER,
    FCT_ORDER_OPTION,
    FCT_ORDER_LINE,
    FCT_ORDER,
)
TABLES_BY_NAME = {table.name: table for table in TABLES}


class SilverState(BaseModel):
    """A Silver run's record."""

    run_id: str | None = None
    committed_at: dt.datetime | None = None
    consumed_ingest_runs: list[str] = Field(default_factory=list)
    silver_runs: list[str] = Field(default_factory=list)
    # table -> the snapshot this run left it at
    tables: dict[str, int] = Field(default_factory=dict)
    reconciliation: dict[str, Any] = Field(default_factory=dict)
    # The Silver run that last changed a row (this one, unless its batch changed nothing): Gold is
    # up to date with Silver when it was built from that run or a later one.
    changed_by: str | None = None
    # Per table read in full, the Bronze run whose extraction Silver modelled (a table no run found
    # is absent); None in a record written before this was kept.
    full_extractions: dict[str, str] | None = None


def silver_record(tables: LayerTables, *, moved_is_missing: bool = False) -> SilverState:
    """The record of the last Silver run that committed whole; an empty one when there is none."""
    found = tables.record(SILVER_PUBLISHED_LAST, SILVER_RUN_PROPERTY, moved_is_missing=moved_is_missing)
    if found is None:
        return SilverState()
    text, snapshot_id = found
    try:
        record = SilverState.model_validate_json(text)
    except ValidationError:
        # A record another version wrote: treated as none, so Silver is rebuilt from Bronze.
        return SilverState()
    record.tables[SILVER_PUBLISHED_LAST] = snapshot_id
    return record
