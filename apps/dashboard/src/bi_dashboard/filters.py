"""The sidebar's filters, shared by every page: a date range and the order-level slicers.

Pure: no Streamlit here. Ranges are relative to the snapshot date S (the latest order date in the
data), never to the clock, and the whole state round-trips through URL query parameters so a view
can be shared as a link.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bi_contracts.restaurants import NAME_COLUMN, RESTAURANT_COLUMN, restaurant_label
from bi_metrics.labels import period_text
from bi_metrics.question import FilterValue, Question
from bi_metrics.restaurants import name_of

# Preset key -> label; the number of days for the relative ones.
PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "ytd": "Year to date",
    "all": "All",
    "custom": "Custom",
}
PRESET_DAYS = {"7d": 7, "30d": 30, "90d": 90}
DEFAULT_PRESET = "90d"
LOYALTY_CHOICES: dict[str, bool | None] = {"all": None, "loyalty": True, "other": False}
LOYALTY_LABELS = {"all": "All orders", "loyalty": "Loyalty orders", "other": "Other orders"}

# Query parameter names: short, since they end up in links.
_RANGE, _START, _END = "range", "start", "end"
_RESTAURANT, _APP, _CATEGORY, _LOYALTY = "restaurant", "app", "category", "loyalty"


@dataclass(frozen=True)
class DataBounds:
    """What the data allows: the first and last order dates and the values each slicer offers."""

    first_date: dt.date
    snapshot_date: dt.date
    restaurants: tuple[str, ...]
    apps: tuple[str, ...]
    categories: tuple[str, ...]
    # (restaurant id, name to show) from Gold's restaurant lookup; the filters still hold ids.
    restaurant_names: tuple[tuple[str, str], ...] = ()

    @functools.cached_property
    def _names(self) -> dict[str, str]:
        return dict(self.restaurant_names)

    def restaurant_label(self, restaurant_id: str) -> str:
        """The restaurant's name for a widget (`format_func`): from the lookup, or the fallback label."""
        return name_of(self._names, restaurant_id)

    def restaurants_by_name(self) -> tuple[str, ...]:
        """The restaurant ids in the order their names sort, as a person scans a list."""
        return tuple(sorted(self.restaurants, key=lambda rid: (self.restaurant_label(rid).casefold(), rid)))


# Gold's restaurant names, for DataBounds.restaurant_names (run through the session's engine, so a
# reader limited to some restaurants gets only theirs).
RESTAURANT_NAMES_SQL = f'SELECT "{RESTAURANT_COLUMN}", "{NAME_COLUMN}" FROM dim_restaurant ORDER BY 1'


@dataclass(frozen=True)
class Filters:
    preset: str
    start: dt.date
    end: dt.date
    restaurants: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    loyalty: str = "all"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def where(self, *, categories: bool = True) -> tuple[tuple[str, tuple[FilterValue, ...]], ...]:
        """As `bi query --where`: an empty slicer means every value."""
        where: list[tuple[str, tuple[FilterValue, ...]]] = []
        if self.restaurants:
            where.append(("restaurant_id", self.restaurants))
        if self.apps:
            where.append(("app_name", self.apps))
        if LOYALTY_CHOICES[self.loyalty] is not None:
            where.append(("is_loyalty", (bool(LOYALTY_CHOICES[self.loyalty]),)))
        if categories and self.categories:
            where.append(("item_category", self.categories))
        return tuple(where)

    def question(
        self,
        metrics: Sequence[str],
        by: Sequence[str] = (),
        extra: Sequence[tuple[str, tuple[FilterValue, ...]]] = (),
    ) -> Question:
        return Question(
            metrics=tuple(metrics),
            by=tuple(by),
            where=(*self.where(), *extra),
            start=self.start,
            end=self.end,
        )

    def has_previous_period(self, bounds: DataBounds) -> bool:
        """Whether the period before lies wholly within the data, so a change against it means something."""
        return self.previous().start >= bounds.first_date

    def previous(self) -> Filters:
        """The period of the same length just before this one, with the same slicers."""
        return replace(self, start=self.start - (self.end - self.start) - dt.timedelta(days=1),
                       end=self.start - dt.timedelta(days=1))  # fmt: skip

    def describe(self, name_of: Callable[[str], str] = restaurant_label) -> str:
        """The filters in words, a restaurant by its name (`name_of` its id)."""
        parts = [f"{period_text(self.start, self.end)} ({self.days} days)"]
        for label, values in (("restaurants", tuple(map(name_of, self.restaurants))), ("apps", self.apps),
                              ("categories", self.categories)):  # fmt: skip
            if values:
                parts.append(f"{label}: {', '.join(values)}")
        if self.loyalty != "all":
            parts.append(LOYALTY_LABELS[self.loyalty].lower())
        return "; ".join(parts)

    def to_query_params(self) -> dict[str, str | list[str]]:
        params: dict[str, str | list[str]] = {_RANGE: self.preset}
        if self.preset == "custom":
            params[_START], params[_END] = self.start.isoformat(), self.end.isoformat()
        for name, values in (
            (_RESTAURANT, self.restaurants),
            (_APP, self.apps),
            (_CATEGORY, self.categories),
        ):
            if values:
                params[name] = list(values)
        if self.loyalty != "all":
            params[_LOYALTY] = self.loyalty
        return params


def preset_range(preset: str, bounds: DataBounds) -> tuple[dt.date, dt.date]:
    """The dates a preset covers, ending at S and never starting before the first order."""
    snapshot = bounds.snapshot_date
    if preset in PRESET_DAYS:
        start = snapshot - dt.timedelta(days=PRESET_DAYS[preset] - 1)
    elif preset == "ytd":
        start = snapshot.replace(month=1, day=1)
    else:
        start = bounds.first_date
    return max(start, bounds.first_date), snapshot


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def from_query_params(params: Mapping[str, Sequence[str]], bounds: DataBounds) -> tuple[Filters, list[str]]:
    """Filters from a link's parameters, and a note for each value the data does not know (dropped)."""
    notes: list[str] = []

    def one(name: str) -> str | None:
        values = params.get(name) or []
        return values[-1] if values else None

    preset = one(_RANGE) or DEFAULT_PRESET
    if preset not in PRESETS:
        notes.append(f"unknown date range {preset!r}: showing {PRESETS[DEFAULT_PRESET].lower()}")
        preset = DEFAULT_PRESET
    start, end = preset_range(preset, bounds)
    if preset == "custom":
        asked_start, asked_end = _date(one(_START)), _date(one(_END))
        if asked_start is None or asked_end is None or asked_start > asked_end:
            notes.append("the link's custom dates are not a valid range: showing all dates")
        elif asked_end < bounds.first_date or asked_start > bounds.snapshot_date:
            notes.append(
                f"the link's dates {asked_start} .. {asked_end} hold no orders "
                f"(orders run {bounds.first_date} .. {bounds.snapshot_date}): showing all dates"
            )
        else:
            start, end = max(asked_start, bounds.first_date), min(asked_end, bounds.snapshot_date)
            if (start, end) != (asked_start, asked_end):
                notes.append(f"the link's dates were narrowed to the orders' dates: {start} .. {end}")

    def known(name: str, offered: tuple[str, ...]) -> tuple[str, ...]:
        asked = list(dict.fromkeys(params.get(name) or []))
        unknown = [value for value in asked if value not in offered]
        if unknown:
            notes.append(f"no {name} {', '.join(map(repr, unknown))} in the data: ignored")
        return tuple(value for value in asked if value in offered)

    loyalty = one(_LOYALTY) or "all"
    if loyalty not in LOYALTY_CHOICES:
        notes.append(f"unknown loyalty choice {loyalty!r}: showing all orders")
        loyalty = "all"
    filters = Filters(
        preset=preset,
        start=start,
        end=end,
        restaurants=known(_RESTAURANT, bounds.restaurants),
        apps=known(_APP, bounds.apps),
        categories=known(_CATEGORY, bounds.categories),
        loyalty=loyalty,
    )
    return filters, notes
