"""The Gold job: the datasets the metrics package declares, rebuilt where Silver changed.

The month partitions of the aggregates are rebuilt when any Silver order-date partition in that month
changed since Gold was last built (Gold records which Silver partitions it was built from); CLV's
running totals from the earliest such month on; the customer snapshot and the lookups every run,
because S moves. Every dataset is checked against its declaration, written as a new version, and
published with one state write, as Silver is.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bi_lake.errors import UserError
from bi_lake.runs import JobReport, TableCounts, utc_now
from bi_lake.workflow import JobContext
from bi_metrics import customers as customer_rules
from bi_metrics import restaurants as restaurant_rule
from bi_metrics.catalogue import CALENDAR, CUSTOMERS, ITEMS, RESTAURANTS
from bi_metrics.gold import (
    DATASETS,
    MONTH_PARTITION,
    GoldDataset,
    GoldDatasetState,
    GoldState,
    definitions_fingerprint,
)
from bi_transform.gold import aggregates, customers, lookups
from bi_transform.gold.store import GoldStore
from bi_transform.silver.store import SilverState, SilverStore
from bi_transform.spark import spark_session

# Spark's names for the declared column types, where they differ.
_SPARK_TYPE_NAMES = {"integer": "int"}


def month_of(day: str) -> str:
    return f"{day[:7]}-01"


def conform(dataset: GoldDataset, frame: DataFrame) -> DataFrame:
    """The frame's columns in declared order; a missing column or another type is a bug, named here."""
    actual = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
    problems = [
        f"{dataset.name}.{column.name}: "
        + (f"is {actual[column.name]}, declared {column.type}" if column.name in actual else "is missing")
        for column in dataset.columns
        if actual.get(column.name) != _SPARK_TYPE_NAMES.get(column.type, column.type)
    ]
    if problems:
        raise UserError(
            f"gold: datasets do not match their declarations, nothing published: {'; '.join(problems)}"
        )
    return frame.select(*dataset.column_names)


def _builder_fingerprint() -> str:
    """The source of the modules that compute Gold's values, and of the rules they apply."""
    digest = hashlib.sha256()
    for module in (aggregates, customers, lookups, restaurant_rule, customer_rules):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def _changed_months(current: dict[str, str], built_from: dict[str, str]) -> set[str]:
    changed = {day for day in current.keys() | built_from.keys() if current.get(day) != built_from.get(day)}
    return {month_of(day) for day in changed}


def run(context: JobContext) -> JobReport:
    spark = spark_session(
        "bi-gold", context.lake, context.settings.kms_key_id, context.settings.spark_log_level
    )
    silver = SilverStore(context.lake.silver)
    silver_state = silver.state()
    store = GoldStore(context.lake.gold)
    previous = store.state()
    swept = store.sweep(previous)
    if silver_state.run_id is None:
        return JobReport(job="gold", status="succeeded", details={"note": "Silver holds no orders yet"})
    definitions = definitions_fingerprint(_builder_fingerprint())
    rebuild_all = context.full_refresh or previous.definitions != definitions
    if not rebuild_all and previous.silver_run_id == silver_state.run_id:
        note = f"Gold is up to date with Silver run {silver_state.run_id}"
        return JobReport(job="gold", status="succeeded", details={"note": note, "swept": swept})
    spark.sparkContext.setJobGroup(context.run_id, "gold")
    # A new declaration or builder rebuilds every month, so old and new definitions never mix.
    base = GoldState() if rebuild_all else previous
    all_orders = silver.read(spark, silver_state, "fct_order")
    s = customers.snapshot_date(all_orders) if all_orders is not None else None
    if all_orders is None or s is None:
        # No order in Silver (an empty source, every line quarantined or voided): Gold follows, every
        # dataset published empty, so questions answer with no rows.
        state = GoldState(
            run_id=context.run_id,
            silver_run_id=silver_state.run_id,
            gold_runs=[*base.gold_runs, context.run_id],
            datasets={dataset.name: GoldDatasetState() for dataset in DATASETS},
            definitions=definitions,
            retained_folders=sorted(previous.folders),
            committed_at=utc_now(),
        )
        store.commit(state)
        store.sweep(state)
        return JobReport(
            job="gold", status="succeeded", details={"note": "Silver holds no orders: Gold is empty"}
        )
    current = dict(silver_state.tables["fct_order"].partitions)
    months = _changed_months(current, base.silver_partitions)
    days = {day for day in current if month_of(day) in months}
    orders = silver.read(spark, silver_state, "fct_order", days) or all_orders.limit(0)
    lines = silver.read(spark, silver_state, "fct_order_line", days) or _read(
        spark, silver, silver_state, "fct_order_line"
    ).limit(0)
    # Running totals change from the first changed month on.
    first_month = min(months, default=None)
    clv = customers.clv_daily(all_orders).where(
        F.trunc("order_date", "month") >= F.lit(first_month).cast("date") if first_month else F.lit(False)
    )
    order_lines = aggregates.order_lines(lines, orders)
    dim_date = _read(spark, silver, silver_state, "dim_date")
    dim_item = _read(spark, silver, silver_state, "dim_item")
    dim_restaurant = _read(spark, silver, silver_state, "dim_restaurant")
    # Each dataset with the Silver rows it is built from (counted once per source, for the report).
    sources = {
        "orders": orders,
        "lines": lines,
        "all_orders": all_orders,
        "dim_date": dim_date,
        "dim_item": dim_item,
        "dim_restaurant": dim_restaurant,
    }
    frames: dict[str, tuple[DataFrame, str]] = {
        **{
            d.name: (aggregates.build(d, orders, order_lines), aggregates.SOURCES[d.name])
            for d in DATASETS
            if d.role == "aggregate"
        },
        "agg_customer_clv_daily": (clv, "all_orders"),
        CALENDAR: (lookups.dim_calendar(dim_date), "dim_date"),
        ITEMS: (lookups.dim_item(dim_item), "dim_item"),
        RESTAURANTS: (lookups.dim_restaurant(dim_restaurant), "dim_restaurant"),
        CUSTOMERS: (customers.customer_snapshot(all_orders, s), "all_orders"),
    }
    rows_in = {name: frame.count() for name, frame in sources.items()}
    rebuilt = {
        "agg_customer_clv_daily": {
            month
            for month in base.datasets.get("agg_customer_clv_daily", GoldDatasetState()).partitions
            if first_month is not None and month >= first_month
        }
    }

    state = GoldState(
        run_id=context.run_id,
        snapshot_date=s,
        silver_run_id=silver_state.run_id,
        silver_partitions=current,
        gold_runs=[*base.gold_runs, context.run_id],
        datasets={name: entry.model_copy(deep=True) for name, entry in base.datasets.items()},
        definitions=definitions,
    )
    counts: list[TableCounts] = []
    for dataset in DATASETS:
        task = context.progress.task(f"gold {dataset.name}")
        started = time.monotonic()
        built, source = frames[dataset.name]
        frame = conform(dataset, built)
        if dataset.partition_by == MONTH_PARTITION:
            frame = frame.withColumn(MONTH_PARTITION, F.trunc("order_date", "month"))
        frame = frame.localCheckpoint(eager=True)
        rows = _rows_by_partition(frame, dataset.partition_by)
        written = store.write(dataset, frame, context.run_id, rows)
        entry = state.datasets.setdefault(dataset.name, GoldDatasetState())
        if dataset.partition_by:
            replaced = rebuilt.get(dataset.name, months)
            entry.partitions = {k: v for k, v in entry.partitions.items() if k not in replaced} | written
        else:
            entry.partitions = written
        total = sum(rows.values())
        counts.append(
            TableCounts(
                table=dataset.name,
                rows_in=rows_in[source],
                rows_out=total,
                files=sum(len(p.files) for p in written.values()),
                note=f"{len(written)} partition(s) rebuilt, {entry.rows:,} rows published",
            )
        )
        task.finish(f"{total:,} rows in {len(written)} partition(s), {time.monotonic() - started:.1f} s")
    state.retained_folders = sorted(previous.folders - state.folders)
    state.committed_at = utc_now()
    store.commit(state)
    store.sweep(state)
    spark.catalog.clearCache()
    return JobReport(
        job="gold",
        status="succeeded",
        tables=counts,
        details={
            "silver_run_id": silver_state.run_id,
            "snapshot_date": s.isoformat(),
            "rebuilt_months": sorted(months),
            "full_refresh": context.full_refresh,
        },
    )


def _read(spark: SparkSession, silver: SilverStore, state: SilverState, table: str) -> DataFrame:
    frame = silver.read(spark, state, table)
    if frame is None:
        raise UserError(f"gold: Silver has no {table}; run the silver job first")
    return frame


def _rows_by_partition(frame: DataFrame, partition_by: str | None) -> dict[str, int]:
    if partition_by is None:
        return {"": frame.count()}
    return {str(row[0]): row[1] for row in frame.groupBy(partition_by).count().collect()}
