"""Answers metric questions from one lake's Gold through one DuckDB connection.

Each Gold dataset is a view over its Iceberg table (`iceberg_scan`) at the snapshot the last Gold run's
record names (see `bi_contracts.published`), so a reader never sees a run that is half committed. The
views are rebuilt when Gold's version (the run id of that record) changes, so a long-lived engine picks
up a new pipeline run at its next question; `as_of` pins the engine to an earlier run instead.

A period that takes in every order (the dashboard's "all dates") is asked as the whole history, which
Gold's lifetime aggregates answer at the customer grain: the answer is the same, read from fewer rows.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import duckdb

from bi_contracts.gold import DATASETS, GoldDataset
from bi_contracts.published import GoldState, as_of, gold_tables, published
from bi_contracts.restaurants import RESTAURANT_COLUMN
from bi_lake.errors import UserError
from bi_lake.settings import Settings
from bi_lake.storage import is_s3
from bi_lake.tables import LayerTables, matches_declaration
from bi_metrics import duckdb_extensions
from bi_metrics.access import EVERYTHING, RestaurantAccess, withheld_error
from bi_metrics.compiler import Plan, compile_question
from bi_metrics.formatting import Value
from bi_metrics.question import Question, sql_literal

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    question: Question
    plan: Plan
    rows: list[tuple[Value, ...]]
    seconds: float
    gold_version: str

    @property
    def columns(self) -> tuple[str, ...]:
        return self.plan.columns

    def records(self) -> list[dict[str, Value]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    gold_version: str


# Credentials from a role rotate: DuckDB's S3 secret is stated again after this long.
SECRET_TTL_S = 300.0


class MetricsEngine:
    """Gold through one DuckDB connection; a restricted reader's connection holds only the rows of
    its restaurants (see bi_metrics.access)."""

    def __init__(
        self,
        gold: LayerTables,
        access: RestaurantAccess = EVERYTHING,
        as_of: str | None = None,
        connect: Callable[[bool], duckdb.DuckDBPyConnection] = duckdb_extensions.connect,
    ) -> None:
        self.gold = gold
        self.access = access
        self.as_of = as_of
        self.uri = gold.storage.uri
        self.on_s3 = is_s3(self.uri)
        # The S3 client and its extension only when Gold is on S3: a local lake answers sooner.
        self.connection = connect(self.on_s3)
        self._lock = threading.Lock()
        self._loaded: GoldState | None = None
        self._order_dates: tuple[dt.date | None, dt.date | None] | None = None
        self._secret_at = -SECRET_TTL_S

    @classmethod
    def open(
        cls, settings: Settings, access: RestaurantAccess = EVERYTHING, as_of: str | None = None
    ) -> MetricsEngine:
        """The engine over the Gold the settings name."""
        return cls(gold_tables(settings), access, as_of)

    def close(self) -> None:
        self.connection.close()

    def read_state(self) -> GoldState:
        if self.as_of is not None:
            return self._loaded or as_of(self.gold, self.as_of)
        return published(self.gold)

    def refresh(self) -> GoldState:
        """Gold as published now (or as of the run the engine is pinned to); the views follow it when
        it has moved on."""
        if self.on_s3 and self._loaded is None:
            # A missing bucket, a wrong endpoint or denied credentials: one line naming the bucket,
            # before the catalog is asked anything.
            self.gold.storage.check()
        state = self.read_state()
        if state.run_id is None:
            raise UserError(f"the lake has no Gold yet at {self.uri}: run `bi run` to build it")
        if self.on_s3 and time.monotonic() - self._secret_at > SECRET_TTL_S:
            duckdb_extensions.refresh_secret(self.connection)
            self._secret_at = time.monotonic()
        if self._loaded is None or self._loaded.run_id != state.run_id:
            for dataset in DATASETS:
                if not self._readable(dataset):
                    continue
                self.connection.execute(self._view(dataset, state))
            self._loaded = state
            self._order_dates = None
        return state

    def _readable(self, dataset: GoldDataset) -> bool:
        """Whether this reader may see the dataset at all: restricted readers see the rows of their
        restaurants, and lookups that say nothing about any restaurant's customers (dates, items)."""
        if not self.access.restricted or RESTAURANT_COLUMN in dataset.column_names:
            return True
        return dataset.role == "lookup" and "user_id" not in dataset.column_names

    def _view(self, dataset: GoldDataset, state: GoldState) -> str:
        columns = ", ".join(f'"{column}"' for column in dataset.column_names)
        entry = state.datasets.get(dataset.name)
        table = self.gold.load(dataset.name) if entry is not None and entry.rows else None
        if entry is None or table is None:
            empty = ", ".join(f'CAST(NULL AS {c.type}) AS "{c.name}"' for c in dataset.columns)
            return f'CREATE OR REPLACE VIEW "{dataset.name}" AS SELECT {empty} WHERE FALSE'
        if not matches_declaration(table, dataset.declaration):
            raise UserError(
                f"Gold at {self.uri} was built by an older version ({dataset.name} is not as declared): "
                "run `bi run` to rebuild it"
            )
        if table.metadata.snapshot_by_id(entry.snapshot_id) is None:
            raise UserError(
                f"Gold run {state.run_id}'s {dataset.name} is no longer kept (snapshots expire: see "
                "BI_SNAPSHOTS_KEPT and BI_SNAPSHOT_DAYS_KEPT)"
            )
        scan = f"iceberg_scan({sql_literal(table.metadata_location)}, snapshot_from_id={entry.snapshot_id})"
        rows = f"SELECT {columns} FROM {scan}"
        if self.access.restricted and RESTAURANT_COLUMN in dataset.column_names:
            allowed = ", ".join(sql_literal(r) for r in self.access.allowed()) or "NULL"
            rows += f' WHERE "{RESTAURANT_COLUMN}" IN ({allowed})'
        return f'CREATE OR REPLACE VIEW "{dataset.name}" AS {rows}'

    def ask(self, question: Question) -> Answer:
        with self._lock:

            def answer() -> Answer:
                state = self.refresh()
                rows = {name: entry.rows for name, entry in state.datasets.items()}
                plan = compile_question(self._without_open_bounds(question), rows, access=self.access)
                started = time.perf_counter()
                result = self.connection.execute(plan.sql, list(plan.parameters)).fetchall()
                return Answer(question, plan, result, time.perf_counter() - started, state.run_id or "")

            return self._retrying(answer)

    def _without_open_bounds(self, question: Question) -> Question:
        """The question without a start before the first order or an end after the last one: they
        exclude nothing, and a question of the whole history reads the lifetime aggregates."""
        if question.start is None and question.end is None:
            return question
        if self._order_dates is None:
            row = self.connection.execute(
                "SELECT min(order_date), max(order_date) FROM agg_sales_daily"
            ).fetchone()
            self._order_dates = (row[0], row[1]) if row else (None, None)
        first, last = self._order_dates
        if first is None or last is None:
            return question
        start = None if question.start and question.start <= first else question.start
        end = None if question.end and question.end >= last else question.end
        return replace(question, start=start, end=end)

    def query(self, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Plain SQL over the Gold views, for views of the data that are not metric questions."""
        return self.table(sql, parameters).rows

    def table(self, sql: str, parameters: list[Any] | None = None) -> Table:
        """As `query`, with the result's column names and the Gold version it was read from."""
        with self._lock:

            def result() -> Table:
                state = self.refresh()
                try:
                    cursor = self.connection.execute(sql, parameters or [])
                except duckdb.CatalogException:
                    if not self.access.restricted:
                        raise
                    # The dataset asked for has no view for this reader.
                    raise withheld_error("this view") from None
                names = tuple(column[0] for column in cursor.description or ())
                return Table(names, cursor.fetchall(), state.run_id or "")

            return self._retrying(result)

    def _retrying(self, work: Callable[[], T]) -> T:
        """Run `work`; if a file it read is gone (a newer Gold was published since the views were made,
        and the snapshot they read has expired), follow Gold's record again and retry once."""
        try:
            return work()
        except duckdb.IOException:
            self._loaded = None
        try:
            return work()
        except duckdb.IOException as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"cannot read Gold at {self.uri}: {first_line}") from None
