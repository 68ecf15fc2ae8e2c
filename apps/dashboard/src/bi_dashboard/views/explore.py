"""Explore: any metrics by any dimensions, with filters, from menus generated from the catalogue."""

from __future__ import annotations

import functools

import streamlit as st

from bi_contracts.gold import DATASETS_BY_NAME
from bi_contracts.restaurants import RESTAURANT_COLUMN
from bi_dashboard import components as ui
from bi_dashboard import session
from bi_dashboard.filters import Filters
from bi_dashboard.session import Result
from bi_metrics.catalogue import DIMENSIONS, METRICS
from bi_metrics.formatting import rows_csv
from bi_metrics.labels import value_text
from bi_metrics.question import FilterValue, Question

METRIC_NAMES = [m.name for m in METRICS]
SHOWN_ROWS = 5_000
CSV_NAME = "business-insights.csv"


def _dimensions(*, filterable: bool = False) -> list[str]:
    """The menus' dimensions: dates are chosen with the sidebar's date range rather than from a list
    of every day, and a session limited to some restaurants has no customer attributes to offer."""
    restricted = session.access().restricted
    return [
        d.name
        for d in DIMENSIONS
        if not (filterable and d.type == "date")
        and not (restricted and d.level == "customer")
        and d.name != RESTAURANT_COLUMN  # restaurant_name says the same in words
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
                format_func=functools.partial(value_text, dimension),
                key=f"x_where_{dimension}",
            )
            if chosen:
                extra.append((dimension, tuple(chosen)))
    if not metrics:
        st.info("Pick at least one metric.")
        return
    result = session.ask(filters.question(metrics, by=by, extra=extra))
    st.caption(f"{len(result.rows):,} row(s). {_source(result.dataset)}")
    if not result.rows:
        ui.no_data("orders")
        return
    if len(by) == 3:
        st.caption("The charts show two dimensions at most: the table has all three.")
    elif by:
        _charts(result, metrics, by, filters)
    ui.table(result, limit=SHOWN_ROWS, download=CSV_NAME)
    if len(result.rows) <= ui.WHOLE_TABLE_ROWS:  # a longer table offers its CSV itself
        st.download_button(
            "Download CSV", rows_csv(result.columns, result.rows), file_name=CSV_NAME, mime="text/csv"
        )


def _source(dataset: str) -> str:
    """Where the answer came from, in words: the pre-computed Gold table's own description."""
    declared = DATASETS_BY_NAME.get(dataset)
    if declared is None:
        return ""
    described = declared.description
    return f"Answered from the pre-computed totals of {described[:1].lower()}{described[1:]}."


def _charts(result: Result, metrics: list[str], by: list[str], filters: Filters) -> None:
    """One chart per metric, two abreast: each metric on its own scale."""
    kind = "line" if by[0] in ui.TIME_GRAINS else "bar"
    columns = st.columns(2 if len(metrics) > 1 else 1)
    for index, metric in enumerate(metrics):
        with columns[index % len(columns)]:
            ui.chart(result, by[0], metric, color=by[1] if len(by) > 1 else None, kind=kind,
                     filters=filters, title=ui.label(metric))  # fmt: skip


ui.run_page(render)
