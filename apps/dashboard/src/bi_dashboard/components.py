"""The pieces every page is made of: KPI tiles, charts, tables and messages, labelled from the catalogue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import altair as alt
import duckdb
import pandas as pd
import streamlit as st

from bi_dashboard import session
from bi_dashboard.filters import Filters
from bi_dashboard.session import Result
from bi_lake.errors import UserError
from bi_metrics.catalogue import DIMENSIONS_BY_NAME, METRICS_BY_NAME
from bi_metrics.formatting import Value, metric_text

_ACRONYMS = {"clv": "CLV", "aov": "AOV"}
_COLUMN_FORMATS = {"currency": "%.2f", "count": "%d", "number": "%.2f", "percent": "%.2f%%"}


def label(name: str) -> str:
    """A metric's or dimension's label, as the catalogue declares it; other columns as they are named."""
    if name in METRICS_BY_NAME:
        return METRICS_BY_NAME[name].label
    if name in DIMENSIONS_BY_NAME:
        return DIMENSIONS_BY_NAME[name].label
    words = name.replace("_pct", "_%").split("_")
    text = " ".join(_ACRONYMS.get(word, word) for word in words)
    return text[:1].upper() + text[1:]


def run_page(render: Callable[[], None], *, refusals: Callable[[str], object] = st.warning) -> None:
    """Content that may fail on the data: a refused question or an unreadable Gold becomes one line on
    the page, never a traceback. Refusals are warnings within a page, errors for the whole app."""
    try:
        render()
    except UserError as exc:
        refusals(str(exc))
    except duckdb.Error as exc:
        # What Gold could not answer is news for whoever runs the pipeline.
        st.error(f"Gold could not be read: {str(exc).strip().splitlines()[0]}")


def no_data(what: str) -> None:
    st.info(f"No {what} for these filters: widen the date range or clear a filter.")


def _change(metric: str, current: Value, previous: Value) -> str | None:
    if not isinstance(current, int | float | Decimal) or not isinstance(previous, int | float | Decimal):
        return None
    if METRICS_BY_NAME[metric].format == "percent":
        return f"{(float(current) - float(previous)) * 100:+.2f} pp"
    if previous == 0:
        return None
    return f"{(float(current) / float(previous) - 1) * 100:+.1f}%"


def kpi_tiles(metrics: Sequence[str], filters: Filters) -> None:
    """One tile per metric for the filters' period, with the change against the period before it when
    the data covers all of that period."""
    current = session.ask(filters.question(metrics))
    previous = filters.previous()
    comparable = filters.has_previous_period(session.bounds())
    before = session.ask(previous.question(metrics)) if comparable else None
    against = (
        f"Change against {previous.start} .. {previous.end}."
        if comparable
        else "No change shown: the data does not cover the whole period before this one."
    )
    for column, metric in zip(st.columns(len(metrics)), metrics, strict=True):
        value = current.first(metric)
        column.metric(
            label(metric),
            metric_text(metric, value),
            delta=_change(metric, value, before.first(metric)) if before else None,
            delta_color="off" if metric == "discount_rate" else "normal",
            help=f"{METRICS_BY_NAME[metric].description}. {against}",
        )


def display_frame(result: Result) -> pd.DataFrame:
    """Columns labelled for people; percentages scaled to percent so the table shows 12.34%."""
    frame = result.frame()
    for column in frame.columns:
        if column in METRICS_BY_NAME and METRICS_BY_NAME[column].format == "percent":
            frame[column] = frame[column].astype("float64") * 100
    return frame


def table(result: Result, *, height: int | None = None) -> None:
    frame = display_frame(result)
    config = {
        column: st.column_config.NumberColumn(
            label(column), format=_COLUMN_FORMATS[METRICS_BY_NAME[column].format]
        )
        if column in METRICS_BY_NAME
        else st.column_config.NumberColumn(label(column), format="%.2f")
        if column in result.decimal_columns
        else st.column_config.Column(label(column))
        for column in frame.columns
    }
    st.dataframe(frame, column_config=config, hide_index=True, width="stretch", height=height or "auto")


def chart(
    result: Result,
    x: str,
    y: str,
    *,
    color: str | None = None,
    kind: str = "line",
    sort_by_value: bool = False,
) -> None:
    """A line or bar chart of one metric (or column) against a dimension, optionally split by another."""
    frame = display_frame(result)
    if frame.empty:
        no_data("data")
        return
    if color:
        frame[color] = frame[color].map(lambda v: "(none)" if v is None or v is pd.NA else str(v))
    fmt = METRICS_BY_NAME[y].format if y in METRICS_BY_NAME else "number"
    axis_format = {"currency": ",.0f", "count": ",d", "percent": ".1f", "number": ",.2f"}[fmt]
    is_time = pd.api.types.is_datetime64_any_dtype(frame[x])
    x_type = "T" if is_time else ("O" if not sort_by_value else "N")
    x_encoding = alt.X(
        f"{x}:{x_type}",
        title=label(x),
        sort="-y" if sort_by_value else "ascending",
    )
    y_title = label(y) + (" (%)" if fmt == "percent" else "")
    mark = (
        alt.Chart(frame).mark_line(point=len(frame) < 60) if kind == "line" else alt.Chart(frame).mark_bar()
    )
    encodings: dict[str, object] = {
        "x": x_encoding,
        "y": alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=axis_format)),
        "tooltip": [alt.Tooltip(c, title=label(c)) for c in frame.columns],
    }
    if color:
        encodings["color"] = alt.Color(f"{color}:N", title=label(color))
    st.altair_chart(mark.encode(**encodings), width="stretch")


def heatmap(result: Result, x: str, y: str, value: str, *, x_sort: Sequence[str] | None = None) -> None:
    frame = display_frame(result)
    if frame.empty:
        no_data("data")
        return
    for column in (x, y):
        frame[column] = frame[column].map(lambda v: "(none)" if v is None else str(v)[:10])
    rect = (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X(f"{x}:O", title=label(x), sort=list(x_sort) if x_sort else "ascending"),
            y=alt.Y(f"{y}:O", title=label(y)),
            color=alt.Color(f"{value}:Q", title=label(value)),
            tooltip=[alt.Tooltip(c, title=label(c)) for c in (x, y, value)],
        )
    )
    st.altair_chart(rect, width="stretch")


def filters_caption(filters: Filters, note: str = "") -> None:
    st.caption(filters.describe() + (f". {note}" if note else ""))
