"""What a restaurant is called, declared once: its name from the source, or a label made from its id.

Gold's `dim_restaurant` lookup applies the same rule in Spark (built from FALLBACK_PREFIX and
FALLBACK_ID_CHARS), so a name shown from Gold and one made here for an id Gold does not know agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bi_metrics.engine import MetricsEngine

FALLBACK_PREFIX = "Restaurant "
FALLBACK_ID_CHARS = 6
RESTAURANT_COLUMN = "restaurant_id"
NAME_COLUMN = "restaurant_name"


def restaurant_label(restaurant_id: str, name: str | None = None) -> str:
    """`name` when the source gives one (not blank), else `Restaurant ` + the id's first characters."""
    if name is not None and name.strip():
        return name.strip()
    return f"{FALLBACK_PREFIX}{restaurant_id[:FALLBACK_ID_CHARS]}"


def restaurant_names(engine: MetricsEngine) -> dict[str, str]:
    """Restaurant id -> the name to show, for every restaurant Gold's lookup holds (for a restricted
    reader: its restaurants only). An id missing from it is named by `restaurant_label(id)`."""
    rows = engine.query(f'SELECT "{RESTAURANT_COLUMN}", "{NAME_COLUMN}" FROM dim_restaurant')
    return {str(rid): restaurant_label(str(rid), name) for rid, name in rows}


def name_of(names: Mapping[str, str], restaurant_id: str) -> str:
    """The name to show for an id, from `restaurant_names`' mapping or by the fallback rule."""
    return names.get(restaurant_id) or restaurant_label(restaurant_id)
