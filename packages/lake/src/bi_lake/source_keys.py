"""The logical keys of the source tables, declared once: the source enforces none, so ingest records
them in its extraction specs and Silver deduplicates by them."""

from __future__ import annotations

ORDER_ITEMS_KEY = ("order_id", "lineitem_id")
# Options have no key of their own: identical rows are one option, so all six columns are the key.
ORDER_ITEM_OPTIONS_KEY = (
    "order_id",
    "lineitem_id",
    "option_group_name",
    "option_name",
    "option_price",
    "option_quantity",
)
DATE_DIM_KEY = ("date_key",)
RESTAURANTS_KEY = ("restaurant_id",)
