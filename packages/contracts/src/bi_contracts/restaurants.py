"""What a restaurant is called, declared once: its name from the source, or a label made from its id.

Gold's `dim_restaurant` lookup applies the same rule in Spark (built from FALLBACK_PREFIX and
FALLBACK_ID_CHARS), so a name shown from Gold and one made by `restaurant_label` for an id Gold does not
know agree.
"""

from __future__ import annotations

FALLBACK_PREFIX = "Restaurant "
FALLBACK_ID_CHARS = 6
RESTAURANT_COLUMN = "restaurant_id"
NAME_COLUMN = "restaurant_name"


def restaurant_label(restaurant_id: str, name: str | None = None) -> str:
    """`name` when the source gives one (not blank), else `Restaurant ` + the id's first characters."""
    if name is not None and name.strip():
        return name.strip()
    return f"{FALLBACK_PREFIX}{restaurant_id[:FALLBACK_ID_CHARS]}"
