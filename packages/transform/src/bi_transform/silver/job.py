"""The Silver job: the Bronze runs not yet consumed, conformed, checked, modelled and published at once.

The job reads the new Bronze batches and calls Silver's steps (`bi_transform.silver.steps`) in order:
classify (every row gets one outcome: kept, duplicate, quarantined with a reason; the kept lines
repaired), merge (the kept lines joined with the order-date partitions they touch, read back and
deduplicated by key, latest extraction winning), model (the facts of those partitions and every
dimension, each written aside and checked by its contract as written; the item spellings counted
and dim_customer rebuilt only for what those partitions change), check (nothing lost or doubled,
every extracted row accounted for), then publish: commit table by table, the last commit carrying the
run's record (see `bi_transform.silver.store`). A run that fails publishes nothing a reader sees.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bi_contracts.silver import TABLES, TABLES_BY_NAME, SilverState
from bi_lake import interrupts
from bi_lake.layout import Lake
from bi_lake.manifests import Manifest, files_of, load_manifests
from bi_lake.runs import JobReport, TableCounts, utc_now
from bi_lake.settings import Settings
from bi_lake.storage import Storage
from bi_lake.workflow import JobContext
from bi_transform.silver import (
    contracts,
    dim_customer,
    dim_date,
    dim_item,
    dim_restaurant,
    fct_order,
    fct_order_line,
    fct_order_option,
    steps,
)
from bi_transform.silver.rules import DUPLICATE, KEPT, QUARANTINED, masked_card
from bi_transform.silver.store import (
    FULL_EXTRACTIONS,
    PUBLISHED_LAST,
    SilverStore,
    latest_extraction,
    silver_tables,
)
from bi_transform.silver.unchanged import Unchanged, unchanged_batch
from bi_transform.spark import spark_session


def _bronze(spark: SparkSession, storage: Storage, manifests: list[Manifest], table: str) -> DataFrame | None:
    files = [storage.uri_of(key) for key in files_of(manifests, table)]
    if not files:
        return None
    # Runs may differ by a column the source added; missing columns read as NULL.
    return spark.read.option("mergeSchema", "true").parquet(*files)


def _extracted(manifests: list[Manifest], table: str) -> int:
    return sum(t.rows for m in manifests for t in m.tables if t.table == table)


def _full_extractions(spark: SparkSession, bronze: Storage) -> dict[str, tuple[str, DataFrame | None]]:
    """Per table read in full, the Bronze run Silver models it from and its rows (None for an empty
    extraction: the source's table is empty now); a table no run found is absent."""
    found = {table: latest_extraction(bronze, table) for table in FULL_EXTRACTIONS}
    return {
        table: (manifest.run_id, _bronze(spark, bronze, [manifest], table))
        for table, manifest in found.items()
        if manifest is not None
    }


def run(context: JobContext) -> JobReport:
    store = store_of(context)
    previous = store.state(moved_is_missing=True)
    # Every table as declared before anything is read or written: one created now (new, declared
    # anew, or moved) holds nothing, so the run rebuilds all of Silver from all of Bronze.
    full_refresh = bool(store.ensure_all()) or context.full_refresh
    consumed = set() if full_refresh else set(previous.consumed_ingest_runs)
    batch = load_manifests(context.lake.bronze, excluding=consumed)
    if not batch:
        return JobReport(job="silver", status="succeeded", details={"note": "no new Bronze runs"})
    # What needs no Spark is decided before a session starts: most daily runs end here.
    if not any(files_of(batch, "order_items")):
        return _record_only(
            context, store, previous, batch, f"{len(batch)} Bronze run(s) without order lines"
        )
    if not full_refresh:
        task = context.progress.task("silver compare")
        started = time.monotonic()
        unchanged = unchanged_batch(store, previous, context.lake.bronze, batch)
        if unchanged is not None:
            note = (
                f"{unchanged.lines:,} re-read lines and {unchanged.options:,} options of {len(batch)} "
                "Bronze run(s) are as Silver holds them: nothing to publish"
            )
            task.finish(f"nothing changed ({time.monotonic() - started:.1f} s)")
            return _record_only(context, store, previous, batch, note, unchanged)
        task.finish(f"the batch changes Silver ({time.monotonic() - started:.1f} s)")
    spark = spark_session(
        "bi-silver", context.lake, context.settings.kms_key_id, context.settings.spark_log_level
    )
    try:
        return _run(context, spark, store, previous, batch, full_refresh)
    except Exception:
        # Not after Ctrl-C: Spark may still be committing a write the interrupted call started, into
        # the folders a discard would remove. Files left go with a later run's expiry, and the run's
        # own error is the one to report.
        if not interrupts.seen():
            with contextlib.suppress(Exception):
                store.discard(context.run_id)
        raise
    finally:
        # What the run cached, whichever way it ended: the session may serve the next job.
        spark.catalog.clearCache()


def _record_only(
    context: JobContext,
    store: SilverStore,
    previous: SilverState,
    batch: list[Manifest],
    note: str,
    unchanged: Unchanged | None = None,
) -> JobReport:
    """Record that the batch was consumed without changing a row: a commit that adds no file, so
    the next run does not read these Bronze runs again and Gold sees that Silver's data is the same."""
    checks = (
        [
            steps.Reconciliation(
                table, _extracted(batch, table), outcomes={DUPLICATE: _extracted(batch, table)}
            )
            for table in ("order_items", "order_item_options")
        ]
        if unchanged is not None
        else []
    )
    record = previous.model_copy(
        update={
            "run_id": context.run_id,
            "committed_at": utc_now(),
            "silver_runs": [*previous.silver_runs, context.run_id],
            "consumed_ingest_runs": sorted(set(previous.consumed_ingest_runs) | {m.run_id for m in batch}),
            "changed_by": previous.changed_by or previous.run_id,
            **({"reconciliation": {c.table: c.as_dict() for c in checks}} if checks else {}),
        }
    )
    store.publish(PUBLISHED_LAST, [], _nothing, context.run_id, previous, record)
    settings = context.settings
    # Only fct_order took a commit (and no file): the other tables are as the last run left them.
    store.expire(store.state(), settings.snapshots_kept, settings.snapshot_days_kept, only=[PUBLISHED_LAST])
    return JobReport(
        job="silver",
        status="succeeded",
        tables=[_counts(check) for check in checks],
        details={
            "note": note,
            "consumed_ingest_runs": [m.run_id for m in batch],
            "changed": False,
            "reconciliation": {c.table: c.as_dict() for c in checks},
        },
    )


def open_store(settings: Settings, lake: Lake | None = None) -> SilverStore:
    """Silver's tables in the lake the settings name."""
    return SilverStore(silver_tables(settings, (lake or Lake.from_settings(settings)).silver), TABLES)


def store_of(context: JobContext) -> SilverStore:
    return open_store(context.settings, context.lake)


def _run(
    context: JobContext,
    spark: SparkSession,
    store: SilverStore,
    previous: SilverState,
    batch: list[Manifest],
    full_refresh: bool,
) -> JobReport:
    base = SilverState() if full_refresh else previous
    if base.run_id is None:
        store.tables.remove_pre_iceberg_files(TABLES_BY_NAME)
    spark.sparkContext.setJobGroup(context.run_id, "silver")
    lines, touched, published_orders = _classify(context, spark, store, base, batch)
    replaced_lines = store.read(spark, base, "fct_order_line", touched)
    merged = steps.merge_lines(lines, replaced_lines)
    options = steps.classify_batch_options(
        _bronze(spark, context.lake.bronze, batch, "order_item_options"),
        _extracted(batch, "order_item_options"),
        merged,
        store.read(spark, base, "fct_order_option", touched),
    )
    write = _Writer(context, spark, store)
    spellings = _spellings(spark, store, base, merged, replaced_lines)
    orders, canonical = _model_facts(write, merged, options.kept, spellings)
    untouched_orders = steps.untouched(published_orders, touched)
    modelled = (write.rows["fct_order_line"], write.rows["fct_order_option"])
    steps.check_nothing_lost(merged, options.kept, modelled, orders, untouched_orders)
    all_orders = steps.union([orders, untouched_orders]) or orders
    customers = _customers(spark, store, base, orders, all_orders, touched)
    extractions = _model_dimensions(write, all_orders, customers, context)
    lines.check.repairs = steps.repairs(lines.repaired, canonical)
    steps.check_reconciled(lines.check, options.check)
    record = SilverState(
        run_id=context.run_id,
        consumed_ingest_runs=sorted(set(base.consumed_ingest_runs) | {m.run_id for m in batch}),
        silver_runs=[*base.silver_runs, context.run_id],
        tables=dict(base.tables),
        reconciliation={c.table: c.as_dict() for c in (lines.check, options.check)},
        changed_by=context.run_id,
        full_extractions={table: run_id for table, (run_id, _) in extractions.items()},
    )
    # A full refresh replaces every partition; a run, those its batch touched.
    written = _publish(
        context, store, write.files, lines, options, None if full_refresh else touched, base, record
    )
    return _report(batch, (lines.check, options.check), record, written, len(touched), full_refresh)


def _classify(
    context: JobContext, spark: SparkSession, store: SilverStore, base: SilverState, batch: list[Manifest]
) -> tuple[steps.ClassifiedLines, set[str], DataFrame | None]:
    """The batch's lines by outcome, the order-date partitions the run rebuilds (those its kept lines
    fall in and those its orders are published in now), and the published orders."""
    task = context.progress.task("silver classify")
    started = time.monotonic()
    line_rows = _bronze(spark, context.lake.bronze, batch, "order_items")
    assert line_rows is not None, "a batch without order lines is recorded before Spark starts"
    extracted = _extracted(batch, "order_items")
    lines = steps.classify_batch(line_rows, extracted, context.settings.test_app_pattern)
    published_orders = store.read(spark, base, "fct_order", None)
    touched = steps.touched_dates(lines.repaired) | steps.published_dates(published_orders, lines.superseded)
    task.finish(f"{extracted:,} lines of {len(batch)} Bronze run(s) in {time.monotonic() - started:.1f} s")
    return lines, touched, published_orders


class _Writer:
    """Writes a table's new files (unpublished) and reads them back: the contract checks what was
    written, and what is built from the table reads the files, not the steps that made them (a file
    outlives the executor that wrote it, and each table's plan starts from files)."""

    def __init__(self, context: JobContext, spark: SparkSession, store: SilverStore) -> None:
        self.context, self.spark, self.store = context, spark, store
        self.files: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}

    def __call__(self, table: str, frame: DataFrame) -> DataFrame:
        task = self.context.progress.task(f"silver {table}")
        started = time.monotonic()
        schema = contracts.schema_of(TABLES_BY_NAME[table])
        contracts.check_columns(table, schema, frame)
        self.files[table] = self.store.write(frame, table, self.context.run_id)
        written = self.store.read_files(self.spark, table, self.files[table])
        built = time.monotonic()
        self.rows[table] = contracts.check(table, schema, written)
        task.finish(
            f"{self.rows[table]:,} rows (built {built - started:.1f} s, "
            f"contract {time.monotonic() - built:.1f} s)"
        )
        return written


def _spellings(
    spark: SparkSession,
    store: SilverStore,
    base: SilverState,
    merged: DataFrame,
    replaced_lines: DataFrame | None,
) -> DataFrame:
    """dim_item_spelling: the published counts less the replaced partitions' lines as published, plus
    the lines the run leaves there; the run's lines counted when none is published (a first run or a
    full refresh: a table created now makes the run a full refresh, so no published line goes
    uncounted)."""
    added = merged.select("item_key", F.col("item_name").alias("item_name_source"), "item_category")
    previous = store.read(spark, base, "dim_item_spelling")
    if previous is None:
        return dim_item.spellings(added)
    removed = replaced_lines.select(*dim_item.SPELLING) if replaced_lines is not None else added.limit(0)
    return dim_item.merge_spellings(previous, removed, added)


def _model_facts(
    write: _Writer, merged: DataFrame, options: DataFrame | None, spellings: DataFrame
) -> tuple[DataFrame, DataFrame]:
    """dim_item_spelling, dim_item and the facts of the touched partitions, written; the run's orders
    and the canonical item names."""
    items = write("dim_item", dim_item.build(write("dim_item_spelling", spellings)))
    built_options = (
        fct_order_option.build(options, fct_order_line.order_dates(merged))
        if options is not None
        else steps.empty_options(write.spark)
    )
    options_out = write("fct_order_option", built_options)
    lines_out = write("fct_order_line", fct_order_line.build(merged, options_out))
    return write("fct_order", fct_order.build(lines_out)), dim_item.canonical_names(items)


def _customers(
    spark: SparkSession,
    store: SilverStore,
    base: SilverState,
    run_orders: DataFrame,
    all_orders: DataFrame,
    touched: set[str],
) -> DataFrame:
    """dim_customer: the published one with the customers of the replaced partitions rebuilt (their
    orders there before the run and after it), or built from every order when none is published."""
    previous = store.read(spark, base, "dim_customer")
    if previous is None:
        return dim_customer.build(all_orders)
    replaced = store.read(spark, base, "fct_order", touched)
    changed = run_orders.select("user_id")
    if replaced is not None:
        changed = changed.unionByName(replaced.select("user_id"))
    return dim_customer.merge(previous, all_orders, changed)


def _model_dimensions(
    write: _Writer, orders: DataFrame, customers: DataFrame, context: JobContext
) -> dict[str, tuple[str, DataFrame | None]]:
    """The dimensions modelled from all of Silver's orders and the latest full extractions (the
    customers as `customers` has them), written; the extractions they came from."""
    extractions = _full_extractions(write.spark, context.lake.bronze)
    calendar = extractions.get("date_dim", ("", None))[1]
    write("dim_date", dim_date.build(write.spark, steps.date_span(orders, calendar), calendar))
    write("dim_restaurant", dim_restaurant.build(orders, extractions.get("restaurants", ("", None))[1]))
    write("dim_customer", customers)
    return extractions


def _publish(
    context: JobContext,
    store: SilverStore,
    files: dict[str, list[str]],
    lines: steps.ClassifiedLines,
    options: steps.ClassifiedOptions,
    touched: set[str] | None,
    base: SilverState,
    record: SilverState,
) -> dict[str, int]:
    """The quarantine written, then every table committed in declared order (those of `touched`
    partitions replaced, or all when None), the last commit carrying the run's record; old snapshots
    expired. The partitions written, per table."""
    task = context.progress.task("silver write")
    started = time.monotonic()
    # A quarantined line keeps its values for whoever mends it, but never a full card number.
    store.write_quarantine(
        lines.classified.where(F.col("_outcome") == QUARANTINED)
        .withColumn("printed_card_number", masked_card())
        .withColumn("_silver_run_id", F.lit(context.run_id)),
        "order_items",
        context.run_id,
    )
    if options.quarantined is not None:
        store.write_quarantine(
            options.quarantined.withColumn("_silver_run_id", F.lit(context.run_id)),
            "order_item_options",
            context.run_id,
        )

    def replaced(day: dt.date) -> bool:
        return touched is None or day.isoformat() in touched

    replacing = None if touched is None else replaced
    written: dict[str, int] = {}
    for table in TABLES_BY_NAME:
        last = table == PUBLISHED_LAST
        if last:
            record.committed_at = utc_now()
        done = store.publish(table, files[table], replacing, context.run_id, base, record if last else None)
        record.tables[table] = done.snapshot_id
        written[table] = len(done.partitions) or 1
    task.finish(f"{sum(written.values()):,} partitions in {time.monotonic() - started:.1f} s")
    store.expire(record, context.settings.snapshots_kept, context.settings.snapshot_days_kept)
    return written


def _report(
    batch: list[Manifest],
    checks: tuple[steps.Reconciliation, ...],
    record: SilverState,
    written: dict[str, int],
    touched: int,
    full_refresh: bool,
) -> JobReport:
    return JobReport(
        job="silver",
        status="succeeded",
        tables=[_counts(check) for check in checks],
        details={
            "consumed_ingest_runs": [m.run_id for m in batch],
            "touched_partitions": touched,
            "snapshots": dict(record.tables),
            "written_partitions": written,
            "reconciliation": record.reconciliation,
            "full_refresh": full_refresh,
        },
    )


def _nothing(_: dt.date) -> bool:
    return False


def _counts(check: steps.Reconciliation) -> TableCounts:
    return TableCounts(
        table=check.table,
        rows_in=check.extracted,
        rows_out=check.outcomes.get(KEPT, 0),
        duplicates=check.outcomes.get(DUPLICATE, 0),
        quarantined=check.outcomes.get(QUARANTINED, 0),
        warnings=sum(check.repairs.values()),
        note=", ".join(f"{reason} {count:,}" for reason, count in sorted(check.reasons.items())),
    )
