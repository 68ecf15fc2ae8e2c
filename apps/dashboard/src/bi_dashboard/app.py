"""The dashboard's entry point (`bi dashboard` runs it): Gold's state, the shared sidebar filters, then
the page the user is on. Every script run starts here, so a new Gold shows at the next interaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import streamlit as st

from bi_contracts.published import GoldState
from bi_contracts.restaurants import restaurant_label
from bi_contracts.status import lake_status
from bi_dashboard import components as ui
from bi_dashboard import session
from bi_dashboard.filters import (
    LOYALTY_LABELS,
    PRESETS,
    RESTAURANT_NAMES_SQL,
    DataBounds,
    Filters,
    from_query_params,
    preset_range,
)
from bi_dashboard.pages import PAGES, PAGES_BY_TITLE
from bi_metrics.labels import day_text, period_text

_INITIALISED = "bi_filters_from_link"
# The tab's icon ships with the app: Streamlit inlines an SVG file into the page, whereas a
# `:material/...:` page icon makes every browser fetch it from a font host on the internet.
ICON = Path(__file__).with_name("icon.svg")


def _bounds(state: GoldState) -> DataBounds | None:
    """The dates and slicer values the orders in Gold have; None when Gold holds no orders."""
    dates = session.sql("SELECT min(order_date), max(order_date) FROM agg_sales_daily")
    first, last = dates.rows[0] if dates.rows else (None, None)
    if state.snapshot_date is None or not isinstance(first, dt.date) or not isinstance(last, dt.date):
        return None

    def values(column: str, dataset: str) -> tuple[str, ...]:
        rows = session.sql(
            f'SELECT DISTINCT "{column}" FROM "{dataset}" WHERE "{column}" IS NOT NULL ORDER BY 1'
        )
        return tuple(str(row[0]) for row in rows.rows)

    return DataBounds(
        first_date=first,
        snapshot_date=state.snapshot_date,
        restaurants=values("restaurant_id", "agg_sales_daily"),
        apps=values("app_name", "agg_sales_daily"),
        categories=values("item_category", "agg_category_daily"),
        restaurant_names=tuple(
            (str(rid), restaurant_label(str(rid), name if isinstance(name, str) else None))
            for rid, name in session.sql(RESTAURANT_NAMES_SQL).rows
        ),
    )


def _getting_started(reason: str) -> None:
    st.title("Business Insights")
    st.info(reason)
    st.markdown(
        "Build the lake, then reload this page:\n\n"
        "```\nuv run bi run                 # seeds the demo source on first use, then ingest, silver, gold\n"
        "uv run bi dashboard           # this dashboard, on ./lake\n```\n\n"
        "On another lake: `uv run bi run --lake PATH` and `uv run bi dashboard --lake PATH`."
    )
    runs = (
        [] if session.access().restricted else lake_status(session.lake(), session.settings(), runs=5)["runs"]
    )
    if runs:
        st.subheader("Last runs")
        st.dataframe(runs, hide_index=True)


def _widgets_from_link(bounds: DataBounds) -> None:
    """On a session's first run, the filters come from the link it was opened with."""
    if st.session_state.get(_INITIALISED):
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    chosen, notes = from_query_params(params, bounds)
    st.session_state.update(
        f_range=chosen.preset,
        f_dates=(chosen.start, chosen.end),
        f_restaurants=list(chosen.restaurants),
        f_apps=list(chosen.apps),
        f_categories=list(chosen.categories),
        f_loyalty=chosen.loyalty,
        bi_link_notes=notes,
    )
    st.session_state[_INITIALISED] = True


def _sidebar(bounds: DataBounds, unfiltered: str | None) -> Filters:
    """The filters; on a page they do not apply to, shown disabled with the reason (and kept)."""
    _widgets_from_link(bounds)
    bar = st.sidebar
    bar.header("Filters")
    off = unfiltered is not None
    if off:
        bar.caption(f"Not used on this page: {unfiltered}.")
    preset = bar.selectbox(
        "Date range", list(PRESETS), format_func=PRESETS.__getitem__, key="f_range", disabled=off
    )
    start, end = preset_range(preset, bounds)
    if preset == "custom":
        picked = bar.date_input(
            "Dates", min_value=bounds.first_date, max_value=bounds.snapshot_date, key="f_dates", disabled=off
        )
        dates = [d for d in (picked if isinstance(picked, tuple | list) else (picked,)) if d]
        if dates:
            start, end = dates[0], dates[-1]
    else:
        st.session_state["f_dates"] = (start, end)
    if not off:
        bar.caption(f"{period_text(start, end)}; the latest order is of {day_text(bounds.snapshot_date)}")
    restaurants = bar.multiselect(
        "Restaurants",
        bounds.restaurants_by_name(),
        format_func=bounds.restaurant_label,
        key="f_restaurants",
        placeholder="All",
        disabled=off,
    )
    apps = bar.multiselect("Apps", bounds.apps, key="f_apps", placeholder="All", disabled=off)
    categories = bar.multiselect(
        "Item categories", bounds.categories, key="f_categories", placeholder="All", disabled=off
    )
    loyalty = bar.radio(
        "Orders", list(LOYALTY_LABELS), format_func=LOYALTY_LABELS.__getitem__, key="f_loyalty", disabled=off
    )
    # Shown once, when the link is opened; the next interaction is the user's own choice.
    for note in st.session_state.pop("bi_link_notes", []):
        bar.warning(f"From the link: {note}")
    filters = Filters(
        preset=preset,
        start=start,
        end=end,
        restaurants=tuple(restaurants),
        apps=tuple(apps),
        categories=tuple(categories),
        loyalty=loyalty,
    )
    st.query_params.from_dict(filters.to_query_params())
    return filters


def _signed_in_caption() -> None:
    user = session.user()
    if user is None:
        return
    access = session.access()
    scope = f", {len(access.allowed())} restaurant(s)" if access.restricted else ""
    st.sidebar.caption(f"Signed in as {user.name}{scope}")


def _app() -> None:
    # Before anything is read: a session the load balancer did not sign in sees nothing.
    session.user()
    _signed_in_caption()
    state = session.gold_state()
    if state.run_id is None:
        _getting_started(f"The lake at {session.lake().root.uri} has no Gold yet.")
        return
    bounds = _bounds(state)
    if bounds is None:
        _getting_started("Gold is published but holds no orders yet: the source had none when it last ran.")
        return
    session.set_bounds(bounds)
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        sections.setdefault(spec.section, []).append(
            st.Page(
                spec.script,
                title=spec.title,
                icon=spec.icon,
                url_path=spec.url_path or None,
                default=not spec.url_path,
            )
        )
    page = st.navigation(sections)
    session.set_filters(_sidebar(bounds, PAGES_BY_TITLE[page.title].unfiltered))
    st.sidebar.caption(
        f"Data as of {day_text(state.snapshot_date)} (Gold run {state.run_id}, "
        f"published {state.committed_at:%Y-%m-%d %H:%M} UTC)"
        if state.committed_at and state.snapshot_date
        else f"Gold run {state.run_id}"
    )
    page.run()


def main() -> None:
    st.set_page_config(page_title="Business Insights", page_icon=str(ICON), layout="wide")
    ui.run_page(_app, refusals=st.error)


main()
