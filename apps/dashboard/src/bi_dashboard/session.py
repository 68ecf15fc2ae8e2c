"""One user session's link to Gold: who is signed in, its own DuckDB connection, and answers cached
by Gold's version.

The cache key holds the lake, the run id of Gold's last commit and the restaurants the session may
see, so a new pipeline run shows at the next interaction without a restart, an answer is never served
for a Gold it was not computed on, and never to a session limited to other restaurants.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from bi_contracts.published import GoldState, gold_tables
from bi_contracts.status import lake_status
from bi_dashboard import identity
from bi_dashboard.filters import DataBounds, Filters
from bi_dashboard.identity import User
from bi_dashboard.settings import load_dashboard_settings
from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.settings import Settings, load_settings
from bi_lake.tables import LayerTables
from bi_metrics.access import RestaurantAccess
from bi_metrics.duckdb_extensions import PreparedConnections
from bi_metrics.engine import MetricsEngine
from bi_metrics.formatting import Value, rows_csv
from bi_metrics.question import Question

_ENGINE, _STATE, _FILTERS, _BOUNDS = "bi_engine", "bi_gold_state", "bi_filters", "bi_bounds"
_USER = "bi_user"
# The server's sessions take their connections from here: each new visitor's is ready before they come.
_CONNECTIONS = PreparedConnections()


@dataclass(frozen=True)
class Result:
    """An answer's columns and rows, as cached: exact values (decimals, dates) kept as they came."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    dataset: str = ""

    def records(self) -> list[dict[str, Value]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def frame(self) -> pd.DataFrame:
        """For charts and tables: amounts as floats (exact to the cent at these magnitudes), dates as
        timestamps."""
        frame = pd.DataFrame.from_records(list(self.rows), columns=list(self.columns))
        for column in frame.columns:
            values = [v for v in frame[column] if v is not None]
            if values and all(isinstance(v, Decimal) for v in values):
                frame[column] = frame[column].map(lambda v: None if v is None else float(v)).astype("float64")
            elif values and all(isinstance(v, dt.date) for v in values):
                frame[column] = pd.to_datetime(frame[column])
        return frame

    @property
    def decimal_columns(self) -> set[str]:
        """Exact amounts (money), shown with two decimals."""
        return {
            column
            for index, column in enumerate(self.columns)
            if any(isinstance(row[index], Decimal) for row in self.rows)
        }

    def head(self, rows: int) -> Result:
        return Result(self.columns, self.rows[:rows], self.dataset)

    def first(self, column: str) -> Value:
        return self.rows[0][self.columns.index(column)] if self.rows else None


def lake() -> Lake:
    """The lake the dashboard was started on (`BI_LAKE`, set by `bi dashboard --lake`)."""
    return Lake.from_settings(load_settings())


def settings() -> Settings:
    """The settings the dashboard was started with (`BI_*`)."""
    return load_settings()


def gold() -> LayerTables:
    """Gold's tables in the lake's catalog."""
    return gold_tables(load_settings())


@functools.cache
def currency() -> str:
    """The currency amounts are shown in (`BI_CURRENCY`)."""
    return load_settings().currency


def user() -> User | None:
    """Who this session is, checked once per session (raises SignInError, a UserError, when the
    dashboard requires a sign-in and the session has none); None without sign-in."""
    if _USER not in st.session_state:
        st.session_state[_USER] = identity.signed_in(st.context.headers, load_dashboard_settings())
    found: User | None = st.session_state[_USER]
    return found


def access() -> RestaurantAccess:
    """The restaurants this session may see."""
    return identity.access_of(user(), load_dashboard_settings())


def engine() -> MetricsEngine:
    if _ENGINE not in st.session_state:
        st.session_state[_ENGINE] = MetricsEngine(gold(), access(), connect=_CONNECTIONS.take)
    found: MetricsEngine = st.session_state[_ENGINE]
    return found


def gold_state() -> GoldState:
    """Gold as published now, read once per script run (every interaction)."""
    state = engine().read_state()
    st.session_state[_STATE] = state
    return state


def _version() -> tuple[str, str]:
    state: GoldState | None = st.session_state.get(_STATE)
    if state is None:
        state = gold_state()
    return engine().uri, state.run_id or ""


class _MovedOn(Exception):
    """Gold was published again between reading its version and answering: not to be cached."""


@st.cache_data(max_entries=2000, show_spinner=False)
def _answer(
    _engine: MetricsEngine, lake_uri: str, version: str, access: RestaurantAccess, question: Question
) -> Result:
    answer = _engine.ask(question)
    if answer.gold_version != version:
        raise _MovedOn(answer.gold_version)
    return Result(answer.columns, tuple(tuple(row) for row in answer.rows), answer.plan.dataset)


@st.cache_data(max_entries=500, show_spinner=False)
def _sql(
    _engine: MetricsEngine,
    lake_uri: str,
    version: str,
    access: RestaurantAccess,
    sql: str,
    parameters: tuple[Any, ...],
) -> Result:
    table = _engine.table(sql, list(parameters))
    if table.gold_version != version:
        raise _MovedOn(table.gold_version)
    return Result(table.columns, tuple(tuple(row) for row in table.rows))


def _current(compute: Callable[[str, str], Result]) -> Result:
    """An answer cached under the Gold version it was computed on; when Gold moved on meanwhile, the
    session follows it and asks again."""
    for _ in range(3):
        try:
            return compute(*_version())
        except _MovedOn:
            gold_state()
    raise UserError("Gold keeps being republished: try again in a moment")


def ask(question: Question) -> Result:
    """A metric question answered exactly by the metrics package (raises UserError when refused)."""
    found = engine()
    return _current(lambda uri, version: _answer(found, uri, version, found.access, question))


def sql(statement: str, *parameters: Any) -> Result:
    """Plain SQL over the Gold views, for what is not a metric question (the customer snapshot)."""
    found = engine()
    return _current(
        lambda uri, version: _sql(found, uri, version, found.access, statement, tuple(parameters))
    )


def count(statement: str, *parameters: Any) -> int:
    """How many rows a query has, cached as its answers are."""
    (rows,) = sql(f"SELECT count(*) FROM ({statement})", *parameters).rows[0]
    assert isinstance(rows, int)
    return rows


def deferred_csv(statement: str, *parameters: Any) -> Callable[[], str]:
    """The CSV of every row of a query, made when a reader asks for it (a download's click runs it
    outside the script) rather than at every rerun: a long list is then neither held in the cache nor
    copied out of it on each interaction. On the session's engine, so its restaurant access holds, and
    on Gold as published at the click."""
    found = engine()

    def make() -> str:
        table = found.table(statement, list(parameters))
        return rows_csv(table.columns, table.rows)

    return make


@st.cache_data(ttl=30, max_entries=20, show_spinner=False)
def _status(lake_uri: str, version: str) -> dict[str, Any]:
    return lake_status(lake(), load_settings(), runs=10)


def status() -> dict[str, Any]:
    """What the lake holds (runs, Bronze, Silver, Gold), read at most every 30 s per Gold version."""
    return _status(*_version())


def set_filters(chosen: Filters) -> None:
    st.session_state[_FILTERS] = chosen


def set_bounds(bounds: DataBounds) -> None:
    st.session_state[_BOUNDS] = bounds


def bounds() -> DataBounds:
    """What the orders in Gold span, set by the app before the page runs."""
    try:
        found: DataBounds = st.session_state[_BOUNDS]
    except KeyError:
        raise UserError("the dashboard is not set up: open it through its main page") from None
    return found


def filters() -> Filters:
    """The sidebar's filters of this script run, set by the app before the page runs."""
    try:
        chosen: Filters = st.session_state[_FILTERS]
    except KeyError:
        raise UserError("the filters are not set: open the dashboard through its main page") from None
    return chosen
