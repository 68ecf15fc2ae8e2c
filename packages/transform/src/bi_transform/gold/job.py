"""The Gold job: the datasets the contracts declare (`bi_contracts.gold`), rebuilt where Silver changed.

The month partitions of the aggregates are rebuilt when any Silver order-date partition in that month
changed since Gold was last built (Gold's record keeps a digest of the Silver partitions of each
month it was built from); CLV's running totals from the earliest such month on; the customer snapshot,
the lifetime aggregates and the lookups every run, because S moves. A run reads Silver's orders of the
changed months only: the whole-history datasets take the other months from Gold's own per-customer
rows (`KeptRows`), so a run's cost follows what changed, not the history behind it. Every dataset is
checked against its declaration, written aside and committed to its Iceberg table, the last commit
carrying the run's record (see `bi_contracts.published`).

Steps: `Changes.between` (what to rebuild), `read_inputs` (Silver's changed days), `read_kept` (Gold's
rows of the other months), `build_datasets` (every dataset's rows, DataFrames in and out), then each
dataset conformed, written and committed in `COMMIT_ORDER`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bi_contracts import customers as customer_rules
from bi_contracts import measures as measure_rules
from bi_contracts import restaurants as restaurant_rule
from bi_contracts.gold import (
    CALENDAR,
    CLV_DAILY,
    CUSTOMER_DAILY,
    CUSTOMERS,
    DATASETS,
    DATASETS_BY_NAME,
    ITEMS,
    MONTH_PARTITION,
    RESTAURANTS,
    GoldDataset,
    definitions_fingerprint,
)
from bi_contracts.published import (
    GOLD_RUN_PROPERTY,
    PUBLISHED_LAST,
    GoldState,
    PublishedDataset,
    gold_tables,
    published,
)
from bi_contracts.silver import SilverState
from bi_lake.errors import UserError
from bi_lake.runs import JobReport, TableCounts, utc_now
from bi_lake.tables import RUN_ID_PROPERTY, LayerTables, Published
from bi_lake.version import code_version
from bi_lake.workflow import JobContext
from bi_transform.gold import aggregates, customers, lookups
from bi_transform.silver.job import store_of as silver_store
from bi_transform.silver.store import SilverStore
from bi_transform.spark import spark_session
from bi_transform.tables import declared_schema, read_files, spark_type, write_files


def month_of(day: str) -> str:
    return f"{day[:7]}-01"


def conform(dataset: GoldDataset, frame: DataFrame) -> DataFrame:
    """The frame's columns in declared order; a missing column or another type is a bug, named here."""
    actual = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
    problems = [
        f"{dataset.name}.{column.name}: "
        + (f"is {actual[column.name]}, declared {column.type}" if column.name in actual else "is missing")
        for column in dataset.columns
        if actual.get(column.name) != spark_type(column.type).simpleString()
    ]
    if problems:
        raise UserError(
            f"gold: datasets do not match their declarations, nothing published: {'; '.join(problems)}"
        )
    return frame.select(*dataset.column_names)


def _builder_fingerprint() -> str:
    """The source of the modules that compute Gold's values, and of the rules they apply (the measures
    too: the Spark totals are generated from them)."""
    digest = hashlib.sha256()
    for module in (aggregates, customers, lookups, restaurant_rule, customer_rules, measure_rules):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def _month_digests(partitions: dict[str, str]) -> dict[str, str]:
    """Per month, a digest of Silver's order-date partitions in it (date -> the digest of its files)."""
    months: dict[str, list[str]] = {}
    for day, folder in sorted(partitions.items()):
        months.setdefault(month_of(day), []).append(f"{day}={folder}")
    return {
        month: hashlib.sha256("\n".join(days).encode()).hexdigest()[:16] for month, days in months.items()
    }


def _changed_months(current: dict[str, str], built_from: dict[str, str]) -> set[str]:
    return {
        month for month in current.keys() | built_from.keys() if current.get(month) != built_from.get(month)
    }


# Lookups first, so no aggregate names an item or a restaurant its reader cannot find; the customer
# snapshot last, because its commit carries the run's record.
COMMIT_ORDER = (
    *(d for d in DATASETS if d.role == "lookup" and d.name != PUBLISHED_LAST),
    *(d for d in DATASETS if d.role != "lookup"),
    DATASETS_BY_NAME[PUBLISHED_LAST],
)


@dataclass(frozen=True)
class Changes:
    """What a run rebuilds: the months whose Silver order-date partitions changed, and their days."""

    months: set[str]
    days: set[str]

    @classmethod
    def between(cls, current: dict[str, str], built_from: dict[str, str], days: Iterable[str]) -> Changes:
        """From Silver's month digests now and those Gold was built from, over Silver's days."""
        months = _changed_months(current, built_from)
        return cls(months, {day for day in days if month_of(day) in months})

    @property
    def first_month(self) -> dt.date | None:
        """Running totals change from here on."""
        return dt.date.fromisoformat(min(self.months)) if self.months else None

    def replacing(self, dataset: str) -> Callable[[dt.date], bool]:
        """Which of the dataset's month partitions the run replaces (by the partition's first day)."""
        first_month = self.first_month
        if dataset == CLV_DAILY:
            return lambda first_day: first_month is not None and first_day >= first_month
        return lambda first_day: first_day.isoformat() in self.months


@dataclass(frozen=True)
class SilverInputs:
    """What Gold reads from Silver: the orders and lines of the changed days, the dimensions."""

    orders: DataFrame
    lines: DataFrame
    dim_date: DataFrame
    dim_item: DataFrame
    dim_restaurant: DataFrame


def read_inputs(spark: SparkSession, silver: SilverStore, state: SilverState, days: set[str]) -> SilverInputs:
    def changed(table: str) -> DataFrame:
        return silver.read(spark, state, table, days) or silver.read_files(spark, table, [])

    return SilverInputs(
        orders=changed("fct_order"),
        lines=changed("fct_order_line"),
        dim_date=_read(spark, silver, state, "dim_date"),
        dim_item=_read(spark, silver, state, "dim_item"),
        dim_restaurant=_read(spark, silver, state, "dim_restaurant"),
    )


@dataclass(frozen=True)
class KeptRows:
    """What a run builds on of the last Gold run: its per-customer rows of the months no Silver change
    touched, which hold those months' orders as the whole-history datasets need them."""

    customer_daily: DataFrame
    customer_days: DataFrame


def read_kept(spark: SparkSession, tables: LayerTables, base: GoldState, changes: Changes) -> KeptRows:
    """The rows of `agg_customer_daily` and `agg_customer_clv_daily` (without its running total) in
    the months `changes` does not rebuild, as `base` published them (none when it published none)."""

    def kept(name: str) -> DataFrame:
        dataset = DATASETS_BY_NAME[name]
        declaration = dataset.declaration
        assert declaration.partitioning is not None, f"{name} is partitioned by month"
        entry = base.datasets.get(name)
        table = tables.load(name) if entry is not None else None
        files = (
            []
            if table is None or entry is None
            else [
                task.file.file_path
                for task in table.scan(snapshot_id=entry.snapshot_id).plan_files()
                if declaration.partitioning.first_day(task.file.partition[0]).isoformat()
                not in changes.months
            ]
        )
        return read_files(spark, declaration, files, declared_schema(declaration))

    return KeptRows(
        customer_daily=kept(CUSTOMER_DAILY),
        customer_days=kept(CLV_DAILY).drop("clv", MONTH_PARTITION),
    )


def build_datasets(
    silver: SilverInputs, kept: KeptRows, s: dt.date, first_month: dt.date | None
) -> dict[str, tuple[DataFrame, str]]:
    """Every Gold dataset's rows as of `s` (those of the months it rebuilds, for a partitioned one),
    with the name of the Silver input it counts as built from; the CLV running totals from
    `first_month` on (none when None).

    The whole-history datasets take the months the run does not rebuild from `kept`: the customer
    snapshot and CLV from the customers' days, the lifetime aggregates from `agg_customer_daily`."""
    order_lines = aggregates.order_lines(silver.lines, silver.orders)
    customer_daily_dataset = DATASETS_BY_NAME[CUSTOMER_DAILY]
    # Each is written and read again by the datasets built from it: computed once.
    changed_customer_daily = aggregates.build(customer_daily_dataset, silver.orders, order_lines, {}).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    customer_daily = kept.customer_daily.select(*changed_customer_daily.columns).unionByName(
        changed_customer_daily
    )
    days = kept.customer_days.unionByName(customers.customer_days(silver.orders)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    snapshot = customers.customer_snapshot(days, s).persist(StorageLevel.MEMORY_AND_DISK)
    # With no month rebuilt, the running totals from the day after S on: none.
    clv = customers.clv_daily(days, first_month or s + dt.timedelta(days=1))

    def aggregate(dataset: GoldDataset) -> tuple[DataFrame, str]:
        source = aggregates.SOURCES[dataset.name]
        if dataset.name == CUSTOMER_DAILY:
            return changed_customer_daily, "orders"
        if source == CUSTOMER_DAILY:
            rolled_up = aggregates.rollup(
                dataset, customer_daily_dataset, customer_daily, {CUSTOMERS: snapshot}
            )
            return rolled_up, "orders"
        return aggregates.build(dataset, silver.orders, order_lines, {CUSTOMERS: snapshot}), source

    return {
        **{d.name: aggregate(d) for d in DATASETS if d.role == "aggregate"},
        CLV_DAILY: (clv, "orders"),
        CALENDAR: (lookups.dim_calendar(silver.dim_date), "dim_date"),
        ITEMS: (lookups.dim_item(silver.dim_item), "dim_item"),
        RESTAURANTS: (lookups.dim_restaurant(silver.dim_restaurant), "dim_restaurant"),
        CUSTOMERS: (snapshot, "orders"),
    }


def _rows_in(silver: SilverStore, state: SilverState, days: set[str]) -> dict[str, int]:
    """The Silver rows each input holds, for the report: from Silver's metadata, not a count."""
    return {
        "orders": silver.rows(state, "fct_order", days),
        "lines": silver.rows(state, "fct_order_line", days),
        **{table: silver.rows(state, table) for table in ("dim_date", "dim_item", "dim_restaurant")},
    }


def run(context: JobContext) -> JobReport:
    silver = silver_store(context)
    silver_state = silver.state()
    tables = gold_tables(context.settings, context.lake)
    previous = published(tables, moved_is_missing=True)
    definitions = definitions_fingerprint(_builder_fingerprint())
    rebuild_all = context.full_refresh or previous.definitions != definitions
    if note := _nothing_to_do(silver_state, previous, rebuild_all):
        return JobReport(job="gold", status="succeeded", details={"note": note})
    spark = spark_session(
        "bi-gold", context.lake, context.settings.kms_key_id, context.settings.spark_log_level
    )
    spark.sparkContext.setJobGroup(context.run_id, "gold")
    base = _base(tables, previous, rebuild_all)
    current = silver.partition_digests(silver_state, "fct_order")
    # The latest order date is the latest order-date partition's: no order is read for it.
    s = dt.date.fromisoformat(max(current)) if current else None
    record = GoldState(
        run_id=context.run_id,
        snapshot_date=s,
        silver_run_id=silver_state.run_id,
        definitions=definitions,
        code_version=code_version(),
    )
    if s is None:
        return _publish_empty(context, tables, base, record)
    record.silver_months = _month_digests(current)
    changes = Changes.between(record.silver_months, base.silver_months, current)
    inputs = read_inputs(spark, silver, silver_state, changes.days)
    kept = read_kept(spark, tables, base, changes)
    frames = build_datasets(inputs, kept, s, changes.first_month)
    rows_in = _rows_in(silver, silver_state, changes.days)
    counts = [
        _build_and_publish(context, tables, dataset, frames[dataset.name], rows_in, changes, base, record)
        for dataset in COMMIT_ORDER
    ]
    removed = _expire(context, tables, record)
    spark.catalog.clearCache()
    details = {
        "silver_run_id": silver_state.run_id,
        "snapshot_date": s.isoformat(),
        "rebuilt_months": sorted(changes.months),
        "full_refresh": context.full_refresh,
        "snapshots": {name: entry.snapshot_id for name, entry in record.datasets.items()},
        "files_removed": removed,
    }
    return JobReport(job="gold", status="succeeded", tables=counts, details=details)


def _base(tables: LayerTables, previous: GoldState, rebuild_all: bool) -> GoldState:
    """What the run builds on: the last run's record, or nothing when it rebuilds every month (a new
    declaration or builder, or a full refresh), so old and new definitions never mix."""
    # Every dataset as declared before anything is written: one created now (new, or declared anew)
    # is built whole, and so is the rest, so that no reader mixes definitions.
    created = [d.name for d in COMMIT_ORDER if tables.ensure(d.declaration)[1]]
    if rebuild_all or created:
        tables.remove_pre_iceberg_files(d.name for d in DATASETS)
        return GoldState()
    return previous


def _nothing_to_do(silver: SilverState, previous: GoldState, rebuild_all: bool) -> str | None:
    """Why the run has nothing to build, or None when it has."""
    if silver.run_id is None:
        return "Silver holds no orders yet"
    # Silver runs whose batch changed nothing leave its data as the run that last changed it left it.
    silver_data_run = silver.changed_by or silver.run_id
    if not rebuild_all and previous.silver_run_id in {silver.run_id, silver_data_run}:
        return f"Gold is up to date with Silver run {silver_data_run}"
    return None


def _publish_empty(context: JobContext, tables: LayerTables, base: GoldState, record: GoldState) -> JobReport:
    """No order in Silver (an empty source, every line quarantined or voided): Gold follows, every
    dataset published empty, so questions answer with no rows."""
    for dataset in COMMIT_ORDER:
        done = _publish(context, tables, dataset, [], None, base, record)
        record.datasets[dataset.name] = PublishedDataset(snapshot_id=done.snapshot_id, rows=done.rows)
    return JobReport(
        job="gold", status="succeeded", details={"note": "Silver holds no orders: Gold is empty"}
    )


def _build_and_publish(
    context: JobContext,
    tables: LayerTables,
    dataset: GoldDataset,
    frame: tuple[DataFrame, str],
    rows_in: dict[str, int],
    changes: Changes,
    base: GoldState,
    record: GoldState,
) -> TableCounts:
    """One dataset checked against its declaration, written and committed; its counts."""
    task = context.progress.task(f"gold {dataset.name}")
    started = time.monotonic()
    built, source = frame
    if dataset.partitioning is not None:
        month = F.col("order_month") if "order_date" not in built.columns else F.trunc("order_date", "month")
        built = built.withColumn(MONTH_PARTITION, month)
    files = write_files(tables, dataset.declaration, conform(dataset, built), context.run_id)
    done = _publish(context, tables, dataset, files, changes.replacing(dataset.name), base, record)
    record.datasets[dataset.name] = PublishedDataset(snapshot_id=done.snapshot_id, rows=done.rows)
    task.finish(
        f"{done.added_rows:,} rows in {len(done.partitions) or 1} partition(s), "
        f"{time.monotonic() - started:.1f} s"
    )
    return TableCounts(
        table=dataset.name,
        rows_in=rows_in[source],
        rows_out=done.added_rows,
        files=done.added_files,
        note=(f"{len(done.partitions)} partition(s) rebuilt" if dataset.partitioning else "rebuilt")
        + f", {done.rows:,} rows published",
    )


def _publish(
    context: JobContext,
    tables: LayerTables,
    dataset: GoldDataset,
    files: list[str],
    replacing: Callable[[dt.date], bool] | None,
    base: GoldState,
    record: GoldState,
) -> Published:
    """One dataset's commit, on the snapshot the run built on (`base`'s: a full rebuild replaces it
    all); the last one carries the run's record, complete by then."""
    properties = {RUN_ID_PROPERTY: context.run_id}
    if dataset.name == PUBLISHED_LAST:
        record.committed_at = utc_now()
        # Its own snapshot is not known before the commit: readers take the commit's own snapshot.
        properties[GOLD_RUN_PROPERTY] = record.model_dump_json()
    table = tables.load(dataset.name)
    assert table is not None, f"{dataset.name} was ensured before the run wrote anything"
    built_on = base.datasets[dataset.name].snapshot_id if dataset.name in base.datasets else None
    return tables.publish(table, dataset.declaration, files, replacing, properties, built_on=built_on)


def _expire(context: JobContext, tables: LayerTables, record: GoldState) -> int:
    """Old snapshots and the files only they referenced, past what the settings keep."""
    settings = context.settings
    removed = 0
    for name, entry in record.datasets.items():
        table = tables.load(name)
        if table is not None:
            removed += tables.expire(
                table, settings.snapshots_kept, settings.snapshot_days_kept, {entry.snapshot_id}
            )
    return removed


def _read(spark: SparkSession, silver: SilverStore, state: SilverState, table: str) -> DataFrame:
    frame = silver.read(spark, state, table)
    if frame is None:
        raise UserError(f"gold: Silver has no {table}; run the silver job first")
    return frame
