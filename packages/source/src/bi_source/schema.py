"""The source schema as the business's SQL Server holds it, declared once.

Generic SQLAlchemy types with SQL Server variants, so the same declaration creates the demo database
in SQLite and the real types (datetime2(3), bit) on SQL Server. The source enforces no keys; the
indexes are the ones an operational database has for its own queries.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mssql

metadata = sa.MetaData()

_DATETIME2_3 = sa.DateTime().with_variant(mssql.DATETIME2(precision=3), "mssql")  # type: ignore[no-untyped-call]
_BIT = sa.Boolean().with_variant(mssql.BIT(), "mssql")
_MONEY = sa.Numeric(10, 2)

order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("app_name", sa.String(64), nullable=False),
    sa.Column("restaurant_id", sa.String(48), nullable=False),
    sa.Column("creation_time_utc", _DATETIME2_3, nullable=False),
    sa.Column("order_id", sa.String(48), nullable=False),
    sa.Column("user_id", sa.String(48), nullable=True),
    sa.Column("printed_card_number", sa.String(64), nullable=True),
    sa.Column("is_loyalty", _BIT, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("lineitem_id", sa.String(64), nullable=True),
    sa.Column("item_category", sa.String(64), nullable=True),
    sa.Column("item_name", sa.String(128), nullable=True),
    sa.Column("item_price", _MONEY, nullable=False),
    sa.Column("item_quantity", sa.Integer, nullable=False),
    sa.Index("ix_order_items_creation_time_utc", "creation_time_utc"),
    sa.Index("ix_order_items_order_id", "order_id"),
)

order_item_options = sa.Table(
    "order_item_options",
    metadata,
    sa.Column("order_id", sa.String(48), nullable=False),
    sa.Column("lineitem_id", sa.String(64), nullable=False),
    sa.Column("option_group_name", sa.String(64), nullable=True),
    sa.Column("option_name", sa.String(128), nullable=False),
    sa.Column("option_price", _MONEY, nullable=False),
    sa.Column("option_quantity", sa.Integer, nullable=False),
    sa.Index("ix_order_item_options_order_id", "order_id"),
)

date_dim = sa.Table(
    "date_dim",
    metadata,
    sa.Column("date_key", sa.Date, nullable=False),
    sa.Column("day_of_week", sa.String(16), nullable=False),
    sa.Column("week", sa.Integer, nullable=False),
    sa.Column("month", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("is_weekend", _BIT, nullable=False),
    sa.Column("is_holiday", _BIT, nullable=False),
    sa.Column("holiday_name", sa.String(64), nullable=True),
)

# Optional in a real source (many lack it): ingest extracts it when it is there, and a restaurant without
# a row in it reads as its fallback label downstream. The demo source has it.
restaurants = sa.Table(
    "restaurants",
    metadata,
    sa.Column("restaurant_id", sa.String(48), nullable=False),
    sa.Column("name", sa.Unicode(128), nullable=False),
    sa.Column("city", sa.Unicode(64), nullable=True),
    sa.Column("region", sa.Unicode(64), nullable=True),
    sa.Column("opened_on", sa.Date, nullable=True),
)

TABLES = (order_items, order_item_options, date_dim, restaurants)
