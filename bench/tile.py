"""A lake N times the size of a built one, without a Spark run: what the query benchmark needs at 100x.

A 100x pipeline run would take this 2-core machine over an hour (about ten times the 10x run's
Silver and Gold), so the 100x query figures are measured on the 10x lake's Gold tiled ten times.
Every customer and every order is copied N times under new ids (copy 0 keeps its ids, copy c gets
`~c` appended), so the copies are disjoint and every measure is additive across them:

- a dataset whose grain holds an order id, and the per-customer series and snapshot, are the copies
  stacked: N times the rows;
- an aggregate without an order id in its grain is re-aggregated over the copies: its customers'
  rows are N times as many (guests stay one row per key), and a grain with no customer in it (day x
  restaurant, month x category) keeps the lake's keys, each N times the sales and orders;
- lookups without customers (dates, items, restaurants) are the lake's.

Silver's two fact tables are tiled the same way into plain Parquet files laid out as the lake's (one
per order date), for the comparison with asking Silver directly.

What a real 100x source would differ in: its ranks, tiers and segments are computed over all its
customers (here each copy keeps the lake's), and it fills keys the lake leaves empty (a rare item
on a quiet day), so its daily aggregates would be somewhat larger than the tiled ones. `check`
asks the tiled Gold the benchmark's questions and compares with the lake's answers: every sum and
count N times, every ratio the same.
"""

from __future__ import annotations

import dataclasses
import math
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from bi_contracts.gold import MONTH_PARTITION, GoldDataset
from bi_contracts.published import (
    GOLD_RUN_PROPERTY,
    PUBLISHED_LAST,
    GoldState,
    PublishedDataset,
    gold_tables,
)
from bi_lake.layout import Lake
from bi_lake.runs import new_run_id, utc_now
from bi_lake.settings import Settings, load_settings
from bi_lake.tables import RUN_ID_PROPERTY, LayerTables, file_uri
from bi_metrics.catalogue import METRICS_BY_NAME
from bi_metrics.engine import MetricsEngine
from bi_metrics.question import Question, sql_literal
from bi_transform.gold.job import COMMIT_ORDER
from bi_transform.silver.job import open_store

# The ids that tell one copy's customers and orders from another's.
TILED_IDS = ("user_id", "order_id")
SILVER_FACTS = {"orders": "fct_order", "lines": "fct_order_line"}


@dataclasses.dataclass(frozen=True)
class Tiled:
    settings: Settings  # the tiled lake's (its Gold)
    times: int
    gold_rows: dict[str, tuple[int, int]]  # dataset -> (the lake's rows, the tiled rows)
    silver_facts: dict[str, list[str]]  # view -> the tiled Parquet files
    seconds: float


def _copy_of(column: str, copy: str) -> str:
    """The column as the copy numbered by the SQL expression `copy` holds it: ids made the copy's own
    (copy 0 keeps them), other values as they are."""
    if column in TILED_IDS:
        own = f""""{column}" || '~' || CAST({copy} AS VARCHAR)"""
        return f'CASE WHEN {copy} = 0 THEN "{column}" ELSE {own} END AS "{column}"'
    return f'"{column}"'


def _tiled_select(dataset: GoldDataset, times: int, where: str) -> str:
    # A lookup that names no customer or order (dates, items, restaurants) is everyone's: copied once.
    copies = times if dataset.role != "lookup" or set(TILED_IDS) & set(dataset.column_names) else 1
    stacked = (
        f"SELECT {', '.join(_copy_of(c, 'copies.copy') for c in dataset.column_names)} "
        f'FROM "{dataset.name}", range({copies}) AS copies(copy) WHERE {where}'
    )
    if dataset.role != "aggregate" or "order_id" in dataset.grain:
        return stacked
    # Without an order id in the grain, guests (and, with no customer in the grain, everyone) share a
    # key across the copies: their rows are summed back to one.
    kept = {*dataset.grain, *dataset.carried, MONTH_PARTITION}
    keys = [c for c in dataset.column_names if c in kept]
    columns = ", ".join(
        f'"{c}"' if c in kept else f'CAST(sum("{c}") AS {dataset.column(c).type}) AS "{c}"'
        for c in dataset.column_names
    )
    group = ", ".join(f'"{c}"' for c in keys)
    return f"SELECT {columns} FROM ({stacked}) GROUP BY {group}"


def _write_gold(
    connection: duckdb.DuckDBPyConnection, tables: LayerTables, dataset: GoldDataset, times: int, run_id: str
) -> list[str]:
    """The tiled dataset as Parquet files where the Gold job would write them: one file per month
    partition (one in all when unpartitioned), sorted as the job sorts."""
    folder = file_uri(tables.storage, tables.data_prefix(dataset.name, run_id)).removeprefix("file://")
    Path(folder).mkdir(parents=True, exist_ok=True)
    if dataset.partitioning is None:
        parts: list[tuple[str, str]] = [("all", "TRUE")]
    else:
        months = connection.execute(f'SELECT DISTINCT "{MONTH_PARTITION}" FROM "{dataset.name}"').fetchall()
        parts = [
            (f"{month:%Y-%m}", f'"{MONTH_PARTITION}" = DATE {sql_literal(str(month))}') for (month,) in months
        ]
    order = ", ".join(f'"{c}"' for c in dataset.sort_by) or "ALL"
    files = []
    for label, where in parts:
        path = f"{folder}/{dataset.name}-{label}.parquet"
        select = _tiled_select(dataset, times, where)
        connection.execute(f"COPY ({select} ORDER BY {order}) TO {sql_literal(path)} (FORMAT parquet)")
        files.append(f"file://{path}")
    return files


def tile_gold(source: Settings, target: Settings, times: int) -> dict[str, tuple[int, int]]:
    """The source lake's Gold, tiled `times` times, published as a Gold run of the target lake."""
    engine = MetricsEngine.open(source)
    base = engine.refresh()
    tables = gold_tables(target)
    run_id = new_run_id(utc_now())
    record = GoldState.model_validate(base.model_dump() | {"run_id": run_id, "datasets": {}})
    rows: dict[str, tuple[int, int]] = {}
    try:
        # In the Gold job's order: its last commit carries the run's record.
        for dataset in COMMIT_ORDER:
            table, _ = tables.ensure(dataset.declaration)
            files = _write_gold(engine.connection, tables, dataset, times, run_id)
            properties = {RUN_ID_PROPERTY: run_id}
            if dataset.name == PUBLISHED_LAST:
                record.committed_at = utc_now()
                properties[GOLD_RUN_PROPERTY] = record.model_dump_json()
            done = tables.publish(table, dataset.declaration, files, None, properties, built_on=None)
            record.datasets[dataset.name] = PublishedDataset(snapshot_id=done.snapshot_id, rows=done.rows)
            rows[dataset.name] = (base.datasets[dataset.name].rows, done.rows)
    finally:
        engine.close()
    return rows


def silver_fact_files(settings: Settings) -> dict[str, list[str]]:
    """The files of Silver's fact tables as the last Silver run published them, by view name."""
    store = open_store(settings)
    state = store.state()
    return {view: store.files(state, table) for view, table in SILVER_FACTS.items()}


def _parquet(file: str) -> str:
    return f"read_parquet({sql_literal(file)}, hive_partitioning = false)"


def tile_silver_facts(source: Settings, folder: Path, times: int) -> dict[str, list[str]]:
    """Silver's fact tables tiled as Gold is: each of the lake's files (one per order date) becomes one
    file holding its copies, so the tiled tables are laid out as the lake's, each file N times larger."""
    connection = duckdb.connect()
    tiled: dict[str, list[str]] = {view: [] for view in SILVER_FACTS}
    try:
        for view, files in silver_fact_files(source).items():
            (folder / view).mkdir(parents=True, exist_ok=True)
            described = connection.execute(f"DESCRIBE SELECT * FROM {_parquet(files[0])}") if files else None
            columns = (
                ", ".join(_copy_of(row[0], "copies.copy") for row in described.fetchall())
                if described
                else ""
            )
            for number, file in enumerate(files):
                path = str(folder / view / f"part-{number:05d}.parquet")
                connection.execute(
                    f"COPY (SELECT {columns} FROM {_parquet(file)}, range({times}) AS copies(copy)) "
                    f"TO {sql_literal(path)} (FORMAT parquet)"
                )
                tiled[view].append(path)
    finally:
        connection.close()
    return tiled


def tile_lake(source: Settings, folder: Path, times: int) -> Tiled:
    """A lake in `folder` holding the source lake's Gold and Silver facts tiled `times` times."""
    started = time.perf_counter()
    target = load_settings(lake=str(folder / "lake"))
    Lake.from_settings(target)
    gold_rows = tile_gold(source, target, times)
    silver = tile_silver_facts(source, folder / "silver", times)
    return Tiled(target, times, gold_rows, silver, time.perf_counter() - started)


def _close(tiled: Any, base: Any, times: int, scaled: bool) -> bool:
    if tiled is None or base is None:
        return tiled is base
    if isinstance(base, Decimal | int):
        return Decimal(tiled) == Decimal(base) * (times if scaled else 1)
    if isinstance(base, float):
        return math.isclose(float(tiled), base * (times if scaled else 1), rel_tol=1e-9, abs_tol=1e-9)
    return bool(tiled == base)


def check(source: Settings, tiled: Settings, times: int, questions: dict[str, Question]) -> list[str]:
    """Each question's answers from the tiled Gold against the lake's: every sum and count `times`
    times the lake's, every ratio equal. The mismatches, one line each (none when the tiling holds)."""
    mismatches = []
    engines = MetricsEngine.open(source), MetricsEngine.open(tiled)
    try:
        for name, question in questions.items():
            base, copy = (engine.ask(question) for engine in engines)
            keys = len(question.by)
            base_rows = {row[:keys]: row[keys:] for row in base.rows}
            copy_rows = {row[:keys]: row[keys:] for row in copy.rows}
            if base_rows.keys() != copy_rows.keys():
                mismatches.append(f"{name}: {len(copy_rows)} rows, the lake's answer has {len(base_rows)}")
                continue
            for key, values in base_rows.items():
                for metric, value, tiled_value in zip(question.metrics, values, copy_rows[key], strict=True):
                    scaled = METRICS_BY_NAME[metric].aggregation != "ratio"
                    if not _close(tiled_value, value, times, scaled):
                        mismatches.append(f"{name} {key} {metric}: {tiled_value} against the lake's {value}")
    finally:
        for engine in engines:
            engine.close()
    return mismatches
