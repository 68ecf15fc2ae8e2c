"""Explore: any metrics by any dimensions, with filters, from menus generated from the catalogue."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session
from bi_metrics.catalogue import DIMENSIONS, METRICS
from bi_metrics.formatting import dimension_text, rows_csv
from bi_metrics.question import FilterValue, Question

METRIC_NAMES = [m.name for m in METRICS]
SHOWN_ROWS = 5_000


def _dimensions(*, filterable: bool = False) -> list[str]:
    """The menus' dimensions: dates are chosen with the sidebar's date range rather than from a list
    of every day, and a session limited to some restaurants has no customer attributes to offer."""
    restricted = session.access().restricted
    return [
        d.name
        for d in DIMENSIONS
        if not (filterable and d.type == "date") and not (restricted and d.level == "customer")
    ]


def _values(dimension: str) -> list[FilterValue]:
    """The values a dimension takes anywhere in Gold (the catalogue's question for them)."""
    rows = session.ask(Question(metrics=("orders",), by=(dimension,))).rows
    return [row[0] for row in rows if isinstance(row[0], str | int | bool)]


def render() -> None:
    filters = session.filters()
    st.title("Explore")
    ui.filters_caption(filters)
    metrics = st.multiselect(
        "Metrics", METRIC_NAMES, default=["net_sales", "orders"], format_func=ui.label, key="x_metrics"
    )
    by = st.multiselect(
        "Break down by (up to 3)",
        _dimensions(),
        default=["order_month"],
        format_func=ui.label,
        max_selections=3,
        key="x_by",
    )
    extra: list[tuple[str, tuple[FilterValue, ...]]] = []
    with st.expander("More filters"):
        for dimension in st.multiselect(
            "Filter on", _dimensions(filterable=True), format_func=ui.label, key="x_filter_on"
        ):
            chosen = st.multiselect(
                ui.label(dimension),
                _values(dimension),
                format_func=dimension_text,
                key=f"x_where_{dimension}",
            )
            if chosen:
                extra.append((dimension, tuple(chosen)))
    if not metrics:
        st.info("Pick at least one metric.")
        return
    result = session.ask(filters.question(metrics, by=by, extra=extra))
    st.caption(f"{len(result.rows):,} row(s), answered from Gold's `{result.dataset}`.")
    if not result.rows:
        ui.no_data("orders")
        return
    if len(by) == 3:
        st.caption("The chart shows two dimensions at most: the table has all three.")
    elif by:
        ui.chart(
            result,
            by[0],
            metrics[0],
            color=by[1] if len(by) > 1 else None,
            kind="line" if by[0] in ("order_date", "order_week", "order_month") else "bar",
        )
    if len(result.rows) > SHOWN_ROWS:
        st.caption(f"The table shows the first {SHOWN_ROWS:,} rows; the CSV has all {len(result.rows):,}.")
    ui.table(result.head(SHOWN_ROWS))
    st.download_button(
        "Download CSV",
        rows_csv(result.columns, result.rows),
        file_name="business-insights.csv",
        mime="text/csv",
        key="x_download",
    )


ui.run_page(render)
