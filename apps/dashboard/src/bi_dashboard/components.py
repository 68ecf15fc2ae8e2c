"""The pieces every page is made of: KPI tiles, charts, tables and messages, labelled and formatted
through the metrics package's one formatting layer (the same words and figures as `bi query`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import altair as alt
import duckdb
import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from bi_contracts.restaurants import RESTAURANT_COLUMN
from bi_dashboard import session
from bi_dashboard.filters import Filters
from bi_dashboard.session import Result
from bi_lake.errors import UserError
from bi_metrics.catalogue import DIMENSIONS_BY_NAME, METRICS_BY_NAME
from bi_metrics.formatting import (
    COMPACT_STEPS,
    NO_VALUE,
    Value,
    currency_symbol,
    formatted,
    metric_text,
    money,
    rows_csv,
)
from bi_metrics.labels import day_text, header, period_text, value_text, words

label = header
TIME_GRAINS = ("order_date", "order_week", "order_month", "month_end")
# One colour per category value, by its place in the dimension's business order, so that High or VIP
# is the same colour on every page.
PALETTE = (
    "#1f6fb2", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#8c8c8c", "#4e79a7", "#a0cbe8",
)  # fmt: skip
# Where a category's meaning has a colour (going, at risk, gone), it keeps it.
MEANT = {"churn_risk": {"Active": "#59a14f", "At risk": "#f28e2b", "Churned": "#e15759"}}
# Up to this many categories on an axis read level.
FLAT_LABELS = 6
# Up to this many rows a table is drawn whole; longer tables scroll and say so.
WHOLE_TABLE_ROWS = 25
_ROW_PX = 35


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


def style_of(column: str, result: Result) -> str:
    """How a column's numbers read: a metric's declared format; other exact amounts are money."""
    if column in METRICS_BY_NAME:
        return METRICS_BY_NAME[column].format
    if column in result.decimal_columns:
        return "currency"
    if column.endswith("_pct"):
        return "change"
    return "number"


def _change(metric: str, current: Value, previous: Value) -> str | None:
    if not isinstance(current, int | float | Decimal) or not isinstance(previous, int | float | Decimal):
        return None
    if METRICS_BY_NAME[metric].format == "percent":
        return f"{(float(current) - float(previous)) * 100:+.2f} pp"
    if previous == 0:
        return None
    return f"{(float(current) / float(previous) - 1) * 100:+.1f}%"


def kpi_tiles(metrics: Sequence[str], filters: Filters) -> None:
    """One tile per metric for the filters' period, written short enough to fit (2.51M, the exact
    value on hover), with the change against the period before when the data covers all of it."""
    currency = session.currency()
    current = session.ask(filters.question(metrics))
    previous = filters.previous()
    comparable = filters.has_previous_period(session.bounds())
    before = session.ask(previous.question(metrics)) if comparable else None
    against = (
        f"Change against {period_text(previous.start, previous.end)}."
        if comparable
        else "No change shown: the data does not cover the whole period before this one."
    )
    for column, metric in zip(st.columns(len(metrics)), metrics, strict=True):
        value = current.first(metric)
        column.metric(
            label(metric),
            metric_text(metric, value, currency=currency, short=True),
            delta=_change(metric, value, before.first(metric)) if before else None,
            delta_color="off" if metric == "discount_rate" else "normal",
            help=f"{metric_text(metric, value, currency=currency)}: "
            f"{METRICS_BY_NAME[metric].description}. {against}",
        )


def display_frame(result: Result) -> pd.DataFrame:
    """The answer as a reader sees it: dimension values in words (in business order), percentages
    scaled to percent; numbers stay numbers so a table sorts them."""
    frame = result.frame()
    for column in frame.columns:
        if column in METRICS_BY_NAME:
            # A metric stays a number even when no row has a value (a ratio over guests only).
            scale = 100 if style_of(column, result) == "percent" else 1
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64") * scale
        elif style_of(column, result) == "percent":
            frame[column] = frame[column].astype("float64") * 100
        elif column in TIME_GRAINS or pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        elif column in DIMENSIONS_BY_NAME or not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = [_reading(column, _raw(value)) for value in frame[column]]
    first = frame.columns[0] if len(frame.columns) else None
    if first is not None and words(first).order:
        # Rows of a category in its business order (High, Medium, Low), however the answer came.
        frame = frame.sort_values(first, key=lambda texts: texts.map(words(first).rank), kind="stable")
        frame = frame.reset_index(drop=True)
    return frame


def _reading(column: str, value: Value) -> str:
    """A flag that is not a dimension (a page's own column) reads Yes or No; a restaurant reads as
    its name."""
    if isinstance(value, bool) and column not in DIMENSIONS_BY_NAME:
        return "Yes" if value else "No"
    if column == RESTAURANT_COLUMN and isinstance(value, str):
        return session.bounds().restaurant_label(value)
    return value_text(column, value)


def _raw(value: object) -> Value:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        found: dt.date = value.date()
        return found
    if isinstance(value, str | int | float | bool | Decimal | dt.date):
        return value
    return str(value)


def _column_config(column: str, style: str, values: pd.Series) -> ColumnConfig:
    title = label(column)
    if column in TIME_GRAINS or pd.api.types.is_datetime64_any_dtype(values):
        moment = {"order_month": "MMM YYYY", "month_end": "MMM YYYY", "order_week": "[Week of] D MMM YYYY"}
        return st.column_config.DateColumn(title, format=moment.get(column, "D MMM YYYY"))
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return st.column_config.TextColumn(title)
    printf = {
        "currency": currency_symbol(session.currency()) + "%,.2f",
        "percent": "%.2f%%",
        "change": "%+.1f%%",
        "count": "%,d",
        "number": "%,d" if pd.api.types.is_integer_dtype(values) else "%,.2f",
    }[style]
    return st.column_config.NumberColumn(title, format=printf)


def table(
    result: Result,
    *,
    limit: int | None = None,
    columns: Sequence[str] | None = None,
    rows_said: str = "rows",
    download: str = "business-insights.csv",
    total: int | None = None,
    csv: Callable[[], str] | None = None,
) -> None:
    """An answer as a table, formatted as its metrics declare; with a limit, the first rows of it, and
    with `columns`, those of its columns (so it fits a laptop's width); the CSV has all of it.

    `result` may itself be the first rows of a longer answer: `total` then says how many rows there
    are, and `csv` makes the CSV of all of them when it is asked for."""
    shown = result.head(limit) if limit is not None else result
    frame = display_frame(shown)
    if columns is not None:
        frame = frame[list(columns)]
    frame_table(
        frame,
        {column: style_of(column, result) for column in frame.columns},
        total=len(result.rows) if total is None else total,
        csv=csv or (lambda: rows_csv(result.columns, result.rows)),
        rows_said=rows_said,
        download=download,
    )


def frame_table(
    frame: pd.DataFrame,
    styles: Mapping[str, str],
    *,
    total: int | None = None,
    csv: Callable[[], str] | None = None,
    rows_said: str = "rows",
    download: str = "business-insights.csv",
) -> None:
    """A table with every row in view; a longer one scrolls (or stops at a limit), says how many rows
    it has and offers them all as CSV. A number missing from a row reads as a dash (a ratio over
    nothing), never as None."""
    frame = frame.copy()
    # Numbers written out as text because some are missing: still aligned as numbers.
    figures: set[str] = set()
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            frame[column] = values.map(lambda v: "Yes" if v else "No")
        elif pd.api.types.is_numeric_dtype(values):
            if values.isna().any():
                frame[column] = [_figure(column, styles.get(column, "number"), v) for v in values]
                figures.add(column)
        elif not pd.api.types.is_datetime64_any_dtype(values):
            frame[column] = [_cell(v) for v in values]
    config = {
        column: st.column_config.TextColumn(label(column), alignment="right")
        if column in figures
        else _column_config(column, styles.get(column, "number"), frame[column])
        for column in frame.columns
    }
    total = len(frame) if total is None else total
    height = _ROW_PX * (min(len(frame), WHOLE_TABLE_ROWS) + 1) + 3
    st.dataframe(frame, column_config=config, hide_index=True, width="stretch", height=height)
    if total <= WHOLE_TABLE_ROWS:
        return
    said = (
        f"{total:,} {rows_said}: scroll the table for the rest, or download them all."
        if total == len(frame)
        else f"The first {len(frame):,} of {total:,} {rows_said}; download them all."
    )
    left, right = st.columns([3, 1])
    left.caption(said)
    right.download_button(
        "Download CSV",
        csv if csv is not None else frame.to_csv(index=False),
        file_name=download,
        mime="text/csv",
        key=f"download-{download}",
    )


@dataclass(frozen=True)
class Period:
    """A week or month on a chart: its short tick, its full name, and whether the range (or the data)
    covers only part of it."""

    tick: str
    name: str
    partial: bool


def period(grain: str, day: dt.date, filters: Filters | None) -> Period:
    if grain == "order_week":
        last, tick = day + dt.timedelta(days=6), f"{day.day} {day:%b}"
    elif grain == "order_month":
        last, tick = _month_end(day), f"{day:%b %Y}"
    else:  # month_end: the range's end closes the last month early
        partial = day != _month_end(day)
        return Period(f"{day:%b %Y}", f"{day:%b %Y}" + (f" (to {day_text(day)})" if partial else ""), partial)
    partial = filters is not None and (day < filters.start or last > filters.end)
    return Period(tick, value_text(grain, day) + (" (partial)" if partial else ""), partial)


def _month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def short_money_expr(currency: str) -> str:
    """A Vega expression writing an axis's amount as a KPI tile does ($48.7K, $2.51M): the same steps
    as `bi_metrics.formatting.compact`, which Vega's own SI prefixes ($1G, $500m) are not."""
    symbol = currency_symbol(currency).replace("'", "\\'")
    expression = "format(abs(datum.value), ',.0f')"
    for step, suffix in reversed(COMPACT_STEPS):
        expression = (
            f"abs(datum.value) >= {step:.0f} ? format(abs(datum.value) / {step:.0f}, '.3~') + '{suffix}' : "
            f"{expression}"
        )
    return f"(datum.value < 0 ? '-' : '') + '{symbol}' + ({expression})"


def _axis(style: str) -> alt.Axis:
    if style == "currency":
        return alt.Axis(labelExpr=short_money_expr(session.currency()))
    return alt.Axis(format={"count": ",d", "percent": ".1f", "number": ",.2f", "change": "+.1f"}[style])


def _colours(dimension: str, shown: Sequence[str]) -> alt.Scale:
    """A fixed colour per value: by the business order when one is declared, else by name."""
    declared = [v for v in words(dimension).order if v in shown]
    others = sorted(set(shown) - set(declared))
    domain = declared + others
    offset = len(words(dimension).order)
    index = {v: words(dimension).order.index(v) for v in declared}
    index.update({v: offset + i for i, v in enumerate(others)})
    meant = MEANT.get(dimension, {})
    return alt.Scale(domain=domain, range=[meant.get(v, PALETTE[index[v] % len(PALETTE)]) for v in domain])


def chart(
    result: Result,
    x: str,
    y: str,
    *,
    color: str | None = None,
    kind: str = "line",
    ordered: bool = False,
    filters: Filters | None = None,
    title: str | None = None,
    height: int = 300,
) -> None:
    """One metric (or column) against a dimension, optionally split by another: a time axis ticks in
    its grain's unit, categories come in business order (or the rows' own, when `ordered`) with their
    own colours, tooltips show the exact figures."""
    frame = display_frame(result)
    if frame.empty:
        no_data("data")
        return
    style = style_of(y, result)
    tooltip = [alt.Tooltip(f"{x}_text:N", title=label(x))]
    if color in TIME_GRAINS:
        # A date as a colour reads in its grain's unit, in date order.
        frame[color] = [value_text(color, _day(v)) for v in frame[color]]
    if color:
        tooltip.append(alt.Tooltip(f"{color}:N", title=label(color)))
    frame[f"{y}_text"] = [_figure(y, style, v) for v in frame[y]]
    tooltip.append(alt.Tooltip(f"{y}_text:N", title=label(y)))
    x_encoding, note = _x_axis(frame, x, ordered, filters)
    base = alt.Chart(frame, title=title or alt.Undefined, height=height)
    mark = base.mark_line(point=len(frame) < 60) if kind == "line" else base.mark_bar()
    encodings: dict[str, object] = {
        "x": x_encoding,
        "y": alt.Y(f"{y}:Q", title=label(y) + (" (%)" if style == "percent" else ""), axis=_axis(style)),
        "tooltip": tooltip,
    }
    if color:
        encodings["color"] = alt.Color(
            f"{color}:N", title=label(color), scale=_colours(color, list(dict.fromkeys(frame[color]))),
            legend=alt.Legend(labelLimit=220, orient="bottom", columns=3),
        )  # fmt: skip
    elif kind == "bar" and words(x).order:
        encodings["color"] = alt.Color(
            f"{x}:N", scale=_colours(x, list(dict.fromkeys(frame[x]))), legend=None
        )
    st.altair_chart(mark.encode(**encodings), width="stretch")
    if note:
        st.caption(note)


def _x_axis(frame: pd.DataFrame, x: str, ordered: bool, filters: Filters | None) -> tuple[alt.X, str]:
    """The x encoding (adding the columns it reads to `frame`), and a note on partial periods."""
    if x == "order_date":
        frame[f"{x}_text"] = [value_text(x, _raw(v)) for v in frame[x]]
        return alt.X(f"{x}:T", title=label(x), axis=alt.Axis(format="%-d %b", labelAngle=0)), ""
    if x in TIME_GRAINS:
        found = [period(x, _day(v), filters) for v in frame[x]]
        frame[f"{x}_text"] = [p.name for p in found]
        frame[f"{x}_tick"] = [p.tick for p in found]
        order = list(dict.fromkeys(frame.sort_values(x)[f"{x}_tick"]))
        partials = list(dict.fromkeys(p.name for p in found if p.partial))
        note = (
            f"Partial: {', '.join(partials)}. The range covers only part of it, and so does the figure."
            if partials
            else ""
        )
        return alt.X(f"{x}_tick:O", title=_grain_title(x), sort=order, axis=alt.Axis(labelAngle=-40)), note
    frame[f"{x}_text"] = frame[x]
    shown = list(dict.fromkeys(frame[x]))
    order = shown if ordered else sorted(shown, key=words(x).rank)
    angle = 0 if len(shown) <= FLAT_LABELS else -40
    return alt.X(f"{x}:N", title=label(x), sort=order, axis=alt.Axis(labelLimit=200, labelAngle=angle)), ""


def _day(value: object) -> dt.date:
    day = _raw(value)
    if not isinstance(day, dt.date):
        raise TypeError(f"not a date: {value!r}")
    return day


def _grain_title(grain: str) -> str:
    return {"order_week": "Week (from Monday)", "order_month": "Month", "month_end": "Month"}[grain]


def bar_ranking(result: Result, category: str, measure: str) -> None:
    """Every category as a horizontal bar, the largest first, its full name readable."""
    frame = display_frame(result)
    if frame.empty:
        no_data("data")
        return
    style = style_of(measure, result)
    frame["figure"] = [_figure(measure, style, v) for v in frame[measure]]
    bars = (
        alt.Chart(frame, height=max(160, 26 * len(frame)))
        .mark_bar(color=PALETTE[0])
        .encode(
            y=alt.Y(f"{category}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=260)),
            x=alt.X(f"{measure}:Q", title=label(measure), axis=_axis(style)),
            tooltip=[alt.Tooltip(f"{category}:N", title=label(category)),
                     alt.Tooltip("figure:N", title=label(measure))],
        )
    )  # fmt: skip
    st.altair_chart(bars, width="stretch")


def _cell(value: object) -> object:
    """A page's own text cell: flags as Yes or No, nothing as a dash."""
    raw = _raw(value)
    if raw is None:
        return NO_VALUE
    if isinstance(raw, bool):
        return "Yes" if raw else "No"
    return raw


def _figure(column: str, style: str, value: object) -> str:
    """A figure as the formatting layer writes it (the frame holds percentages scaled to percent)."""
    raw = _raw(value)
    if not isinstance(raw, int | float) or isinstance(raw, bool):
        return NO_VALUE
    if style == "change":
        return f"{raw:+.1f}%"
    if style == "percent":
        raw /= 100
    elif style == "count":
        raw = round(raw)
    return formatted(raw, style, currency=session.currency())  # type: ignore[arg-type]


def heatmap(
    frame: pd.DataFrame, x: str, y: str, value: str, *, x_order: Sequence[str], y_order: Sequence[str]
) -> None:
    """Money in a grid of two categories, the exact amount on hover."""
    if frame.empty:
        no_data("data")
        return
    frame = frame.assign(figure=[money(v, session.currency()) for v in frame[value]])
    symbol = currency_symbol(session.currency()).replace("'", "\\'")
    rect = (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X(f"{x}:O", title=label(x), sort=list(x_order), axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{y}:O", title=label(y), sort=list(y_order)),
            color=alt.Color(
                f"{value}:Q",
                title=label(value),
                legend=alt.Legend(labelExpr=f"'{symbol}' + format(datum.value, '~s')"),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:N", title=label(x)),
                alt.Tooltip(f"{y}:N", title=label(y)),
                alt.Tooltip("figure:N", title=label(value)),
            ],
        )
    )
    st.altair_chart(rect, width="stretch")


def filters_caption(filters: Filters, note: str = "") -> None:
    st.caption(filters.describe(session.bounds().restaurant_label) + (f". {note}" if note else ""))
