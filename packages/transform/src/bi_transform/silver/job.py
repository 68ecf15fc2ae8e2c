"""The Silver job: the Bronze runs not yet consumed, conformed, checked, modelled and published at once.

Steps: read the new Bronze batches; give every row one outcome (kept, duplicate, quarantined with a
reason); repair what the rules repair; merge the kept lines into the order-date partitions they touch
(read back, deduplicated by key, latest extraction winning); rebuild the facts of those partitions and
every dimension; pass each table through its contract; write the new files aside; reconcile the counts
against the Bronze manifests; then commit table by table, the last commit carrying the run's record
(see `bi_transform.silver.store`). A run that fails publishes nothing a reader sees.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bi_lake import interrupts
from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.manifests import Manifest, files_of, load_manifests
from bi_lake.runs import JobReport, TableCounts, utc_now
from bi_lake.settings import Settings
from bi_lake.storage import Storage
from bi_lake.tables import Partitioning
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
)
from bi_transform.silver.quality import ITEM_NAME_VARIANT
from bi_transform.silver.rules import (
    DUPLICATE,
    KEPT,
    LINE_KEY,
    OPTION_COLUMNS,
    QUARANTINED,
    classify_lines,
    classify_options,
    masked_card,
    repair_lines,
)
from bi_transform.silver.store import (
    BY_DAY,
    FULL_EXTRACTIONS,
    PUBLISHED_LAST,
    SilverState,
    SilverStore,
    latest_extraction,
    silver_tables,
)
from bi_transform.silver.unchanged import Unchanged, unchanged_batch
from bi_transform.spark import spark_session

# Silver's tables, declared once: contract and partitioning, in the order a run commits them (the
# dimensions before the facts that name them, fct_order last: its commit carries the run's record).
TABLES: dict[str, tuple[type[Any], Partitioning | None]] = {
    "dim_date": (dim_date.DimDate, None),
    "dim_restaurant": (dim_restaurant.DimRestaurant, None),
    "dim_item": (dim_item.DimItem, None),
    "dim_customer": (dim_customer.DimCustomer, None),
    "fct_order_option": (fct_order_option.FctOrderOption, BY_DAY),
    "fct_order_line": (fct_order_line.FctOrderLine, BY_DAY),
    PUBLISHED_LAST: (fct_order.FctOrder, BY_DAY),
}

# The shape of a kept line before modelling, whether it comes from Bronze or back from Silver.
_CONFORMED = (
    "order_id", "lineitem_id", "creation_time_utc", "restaurant_id", "app_name", "user_id", "is_loyalty",
    "printed_card_number", "item_key", "item_name", "item_category", "item_price", "item_quantity",
    "_extracted_at", "_run_id",
)  # fmt: skip


@dataclass
class Reconciliation:
    """Per source table: extracted = kept + duplicates + quarantined, with reasons and repairs."""

    table: str
    extracted: int
    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    repairs: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.extracted == sum(self.outcomes.get(k, 0) for k in (KEPT, DUPLICATE, QUARANTINED))

    def as_dict(self) -> dict[str, Any]:
        return {
            "extracted": self.extracted,
            "kept": self.outcomes.get(KEPT, 0),
            "duplicates": self.outcomes.get(DUPLICATE, 0),
            "quarantined": self.outcomes.get(QUARANTINED, 0),
            "quarantined_by_reason": dict(sorted(self.reasons.items())),
            "repairs": dict(sorted(self.repairs.items())),
            "balanced": self.balanced,
        }


def _bronze(spark: SparkSession, storage: Storage, manifests: list[Manifest], table: str) -> DataFrame | None:
    files = [storage.uri_of(key) for key in files_of(manifests, table)]
    if not files:
        return None
    # Runs may differ by a column the source added; missing columns read as NULL.
    return spark.read.option("mergeSchema", "true").parquet(*files)


def _extracted(manifests: list[Manifest], table: str) -> int:
    return sum(t.rows for m in manifests for t in m.tables if t.table == table)


def _outcomes(classified: DataFrame, table: str, extracted: int) -> Reconciliation:
    """One action: the rows by outcome and reason."""
    result = Reconciliation(table, extracted)
    for row in classified.groupBy("_outcome", "_reason").count().collect():
        result.outcomes[row["_outcome"]] = result.outcomes.get(row["_outcome"], 0) + row["count"]
        # An older version of a line may fail a rule too, but it is counted as a duplicate, not by reason.
        if row["_outcome"] == QUARANTINED and row["_reason"] is not None:
            result.reasons[row["_reason"]] = result.reasons.get(row["_reason"], 0) + row["count"]
    return result


def _conformed_from_silver(lines: DataFrame) -> DataFrame:
    return lines.select(
        *(c for c in _CONFORMED if c not in {"item_name", "_extracted_at", "_run_id"}),
        F.col("item_name_source").alias("item_name"),
        F.col("extracted_at").alias("_extracted_at"),
        F.col("ingest_run_id").alias("_run_id"),
    ).select(*_CONFORMED)


def _union(frames: list[DataFrame | None]) -> DataFrame | None:
    present = [frame for frame in frames if frame is not None]
    if not present:
        return None
    result = present[0]
    for frame in present[1:]:
        result = result.unionByName(frame)
    return result


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
            Reconciliation(table, _extracted(batch, table), outcomes={DUPLICATE: _extracted(batch, table)})
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
    consumed = set() if full_refresh else set(previous.consumed_ingest_runs)
    base = SilverState() if full_refresh else previous
    if base.run_id is None:
        store.tables.remove_pre_iceberg_files(TABLES)
    bronze = context.lake.bronze
    line_rows = _bronze(spark, bronze, batch, "order_items")
    option_rows = _bronze(spark, bronze, batch, "order_item_options")
    assert line_rows is not None, "a batch without order lines is recorded before Spark starts"
    spark.sparkContext.setJobGroup(context.run_id, "silver")

    task = context.progress.task("silver classify")
    started = time.monotonic()
    classified = classify_lines(line_rows, context.settings.test_app_pattern).cache()
    lines_check = _outcomes(classified, "order_items", _extracted(batch, "order_items"))
    repaired = repair_lines(classified.where(F.col("_outcome") == KEPT)).cache()
    # The latest version of every key in the batch supersedes what Silver holds for that key, whether
    # it is kept or quarantined; the partitions to rebuild are those the batch's lines fall in and
    # those its orders are published in now.
    superseded = classified.where(F.col("_latest")).select(*LINE_KEY).distinct().cache()
    published_orders = store.read(spark, base, "fct_order", None)
    touched = _touched_dates(repaired) | _published_dates(published_orders, superseded)
    task.finish(
        f"{lines_check.extracted:,} lines of {len(batch)} Bronze run(s) in {time.monotonic() - started:.1f} s"
    )
    published_lines = store.read(spark, base, "fct_order_line", touched)
    remaining = published_lines.join(superseded, list(LINE_KEY), "left_anti") if published_lines else None
    merged = (
        _union([repaired.select(*_CONFORMED), _conformed_from_silver(remaining) if remaining else None])
        or repaired.select(*_CONFORMED)
    ).cache()

    options_check = Reconciliation("order_item_options", _extracted(batch, "order_item_options"))
    published_options = store.read(spark, base, "fct_order_option", touched)
    kept_options: DataFrame | None = None
    quarantined_options: DataFrame | None = None
    if option_rows is not None:
        classified_options = classify_options(option_rows, merged, published_options).cache()
        options_check = _outcomes(classified_options, "order_item_options", options_check.extracted)
        kept_options = classified_options.where(F.col("_outcome") == KEPT).select(*OPTION_COLUMNS)
        quarantined_options = classified_options.where(F.col("_outcome") == QUARANTINED)
    # Published options stay while their line does.
    still_attached = (
        published_options.select(*OPTION_COLUMNS).join(merged.select(*LINE_KEY), list(LINE_KEY), "left_semi")
        if published_options
        else None
    )
    all_options = _union([kept_options, still_attached])
    dates = fct_order_line.order_dates(merged)
    options_out = fct_order_option.build(all_options, dates) if all_options is not None else None
    files: dict[str, list[str]] = {}
    rows: dict[str, int] = {}

    def publishable(table: str, frame: DataFrame) -> DataFrame:
        """Write a table's new files (unpublished) and read them back: the contract checks what was
        written, and what is built from the table reads the files, not the steps that made them (a
        file outlives the executor that wrote it, and each table's plan starts from files)."""
        task = context.progress.task(f"silver {table}")
        started = time.monotonic()
        model = TABLES[table][0]
        contracts.check_columns(table, model, frame)
        files[table] = store.write(frame, table, context.run_id)
        written = store.read_files(spark, table, files[table])
        built = time.monotonic()
        rows[table] = contracts.check(table, model, written)
        task.finish(
            f"{rows[table]:,} rows (built {built - started:.1f} s, contract {time.monotonic() - built:.1f} s)"
        )
        return written

    untouched = _untouched(store.read(spark, base, "fct_order_line", None), touched)
    spellings = merged.select("item_key", F.col("item_name").alias("item_name_source"), "item_category")
    if untouched is not None:
        spellings = spellings.unionByName(untouched.select("item_key", "item_name_source", "item_category"))
    items = publishable("dim_item", dim_item.build(spellings))
    canonical = dim_item.canonical_names(items)
    options_out = publishable(
        "fct_order_option", options_out if options_out is not None else _empty_options(spark)
    )
    lines_out = publishable("fct_order_line", fct_order_line.build(merged, options_out))
    orders_out = publishable("fct_order", fct_order.build(lines_out))
    # Not cached: each use reads only its columns, which measured as fast as caching every column.
    untouched_orders = _untouched(published_orders, touched)
    _check_nothing_lost(
        merged,
        all_options,
        (rows["fct_order_line"], rows["fct_order_option"]),
        orders_out,
        untouched_orders,
    )
    all_orders = _union([orders_out, untouched_orders]) or orders_out
    extractions = _full_extractions(spark, bronze)
    calendar = extractions.get("date_dim", ("", None))[1]
    publishable("dim_date", dim_date.build(spark, _date_span(all_orders, calendar), calendar))
    publishable(
        "dim_restaurant", dim_restaurant.build(all_orders, extractions.get("restaurants", ("", None))[1])
    )
    publishable("dim_customer", dim_customer.build(all_orders))
    lines_check.repairs = _repairs(repaired, canonical)

    for check in (lines_check, options_check):
        if not check.balanced:
            raise UserError(
                f"silver: {check.table} does not reconcile: {check.extracted:,} extracted but "
                f"{sum(check.outcomes.values()):,} accounted for ({check.as_dict()})"
            )

    record = SilverState(
        run_id=context.run_id,
        consumed_ingest_runs=sorted(consumed | {m.run_id for m in batch}),
        silver_runs=[*base.silver_runs, context.run_id],
        tables=dict(base.tables),
        reconciliation={c.table: c.as_dict() for c in (lines_check, options_check)},
        changed_by=context.run_id,
        full_extractions={table: run_id for table, (run_id, _) in extractions.items()},
    )
    task = context.progress.task("silver write")
    started = time.monotonic()
    # A quarantined line keeps its values for whoever mends it, but never a full card number.
    store.write_quarantine(
        classified.where(F.col("_outcome") == QUARANTINED)
        .withColumn("printed_card_number", masked_card())
        .withColumn("_silver_run_id", F.lit(context.run_id)),
        "order_items",
        context.run_id,
    )
    if quarantined_options is not None:
        store.write_quarantine(
            quarantined_options.withColumn("_silver_run_id", F.lit(context.run_id)),
            "order_item_options",
            context.run_id,
        )

    def replaced(day: dt.date) -> bool:
        return day.isoformat() in touched

    written: dict[str, int] = {}
    for table in TABLES:
        last = table == PUBLISHED_LAST
        if last:
            record.committed_at = utc_now()
        # A full refresh replaces every partition; a run, those its batch touched.
        replacing = None if full_refresh else replaced
        done = store.publish(table, files[table], replacing, context.run_id, base, record if last else None)
        record.tables[table] = done.snapshot_id
        written[table] = len(done.partitions) or 1
    task.finish(f"{sum(written.values()):,} partitions in {time.monotonic() - started:.1f} s")
    settings = context.settings
    store.expire(record, settings.snapshots_kept, settings.snapshot_days_kept)
    state = record
    return JobReport(
        job="silver",
        status="succeeded",
        tables=[_counts(check) for check in (lines_check, options_check)],
        details={
            "consumed_ingest_runs": [m.run_id for m in batch],
            "touched_partitions": len(touched),
            "snapshots": dict(record.tables),
            "written_partitions": written,
            "reconciliation": state.reconciliation,
            "full_refresh": full_refresh,
        },
    )


def _nothing(_: dt.date) -> bool:
    return False


def _counts(check: Reconciliation) -> TableCounts:
    return TableCounts(
        table=check.table,
        rows_in=check.extracted,
        rows_out=check.outcomes.get(KEPT, 0),
        duplicates=check.outcomes.get(DUPLICATE, 0),
        quarantined=check.outcomes.get(QUARANTINED, 0),
        warnings=sum(check.repairs.values()),
        note=", ".join(f"{reason} {count:,}" for reason, count in sorted(check.reasons.items())),
    )


def _touched_dates(kept: DataFrame) -> set[str]:
    """The order-date partitions the kept lines may land in: a line's own date, and the day before
    (its order may have started before midnight)."""
    days = [row[0] for row in kept.select(F.to_date("creation_time_utc")).distinct().collect()]
    return {(day - delta).isoformat() for day in days for delta in (dt.timedelta(0), dt.timedelta(days=1))}


def _published_dates(orders: DataFrame | None, keys: DataFrame) -> set[str]:
    """The order-date partitions where the batch's orders are published now (one action)."""
    if orders is None:
        return set()
    batch_orders = keys.select("order_id").distinct()
    rows = orders.join(batch_orders, "order_id", "left_semi").select("order_date").distinct().collect()
    return {row[0].isoformat() for row in rows}


def _check_nothing_lost(
    merged: DataFrame,
    options: DataFrame | None,
    modelled: tuple[int, int],
    run_orders: DataFrame,
    untouched_orders: DataFrame | None,
) -> None:
    """Modelling keeps every kept row once: lines and options in, lines and options out (`modelled`:
    the rows of fct_order_line and fct_order_option), and each order in one partition.

    The run's orders are unique among themselves by fct_order's contract; each is checked against the
    partitions the run leaves as they are. Those held no order twice when they were published, since
    every run that published them made this check, so all of Silver holds each order once.
    """
    lines_out, options_out = modelled
    problems = []
    if (kept_lines := merged.count()) != lines_out:
        problems.append(f"fct_order_line has {lines_out:,} rows for {kept_lines:,} kept lines")
    kept_options = options.count() if options is not None else 0
    if kept_options != options_out:
        problems.append(f"fct_order_option has {options_out:,} rows for {kept_options:,} kept options")
    if untouched_orders is not None:
        elsewhere = untouched_orders.join(run_orders.select("order_id"), "order_id", "left_semi")
        if doubled := elsewhere.count():
            problems.append(f"{doubled:,} orders stand in more than one partition")
    if problems:
        raise UserError(f"silver: rows would be lost or doubled, nothing published: {'; '.join(problems)}")


def _untouched(frame: DataFrame | None, touched: set[str]) -> DataFrame | None:
    if frame is None:
        return None
    return frame.where(~F.col("order_date").cast("string").isin(sorted(touched)))


def _date_span(orders: DataFrame, calendar: DataFrame | None) -> tuple[dt.date, dt.date] | None:
    """From the first order date or calendar day to the last; None when neither has a date (every
    line quarantined, no calendar)."""
    spans = [orders.agg(F.min("order_date"), F.max("order_date")).first()]
    if calendar is not None:
        spans.append(
            calendar.agg(F.min(F.col("date_key").cast("date")), F.max(F.col("date_key").cast("date"))).first()
        )
    firsts = [span[0] for span in spans if span is not None and span[0] is not None]
    lasts = [span[1] for span in spans if span is not None and span[1] is not None]
    return (min(firsts), max(lasts)) if firsts else None


def _repairs(repaired: DataFrame, canonical: DataFrame) -> dict[str, int]:
    """Repairs by kind among the batch's kept lines, item-name variants included (one action)."""
    flagged = repaired.join(canonical, "item_key", "left").select(
        F.explode(
            F.array_union(
                F.col("_repairs"),
                F.array_compact(
                    F.array(F.when(F.col("item_name") != F.col("canonical_name"), F.lit(ITEM_NAME_VARIANT)))
                ),
            )
        ).alias("repair")
    )
    return {row["repair"]: row["count"] for row in flagged.groupBy("repair").count().collect()}


def _empty_options(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [],
        "order_id string, lineitem_id string, option_group_name string, option_name string, "
        "option_price decimal(10,2), option_quantity int, option_amount decimal(18,2), order_date date",
    )
