"""Restaurant names as Gold holds them, for the pages and `bi query` (the naming rule itself is
`bi_contracts.restaurants`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bi_contracts.restaurants import NAME_COLUMN, RESTAURANT_COLUMN, restaurant_label

if TYPE_CHECKING:
    from bi_metrics.engine import MetricsEngine


def restaurant_names(engine: MetricsEngine) -> dict[str, str]:
    """Restaurant id -> the name to show, for every restaurant Gold's lookup holds (for a restricted
    reader: its restaurants only). An id missing from it is named by `restaurant_label(id)`."""
    rows = engine.query(f'SELECT "{RESTAURANT_COLUMN}", "{NAME_COLUMN}" FROM dim_restaurant')
    return {str(rid): restaurant_label(str(rid), name) for rid, name in rows}


def name_of(names: Mapping[str, str], restaurant_id: str) -> str:
    """The name to show for an id, from `restaurant_names`' mapping or by the fallback rule."""
    return names.get(restaurant_id) or restaurant_label(restaurant_id)
