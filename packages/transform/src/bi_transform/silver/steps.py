"""Silver's steps, each a function of DataFrames in and out that a test can call alone.

classify (every line and option of the batch gets one outcome, the kept lines repaired), merge (the
kept lines joined with what Silver holds in the partitions they touch, the latest version of each key
winning), and the checks that nothing was lost or doubled on the way. The job (`bi_transform.silver.job`)
calls them in order, models the tables from their results and publishes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bi_contracts.quality import ITEM_NAME_VARIANT
from bi_contracts.silver import FCT_ORDER_OPTION
from bi_lake.errors import UserError
from bi_transform.silver.contracts import spark_schema
from bi_transform.silver.rules import (
    DUPLICATE,
    KEPT,
    LINE_KEY,
    OPTION_COLUMNS,
    QUARANTINED,
    classify_lines,
    classify_options,
    repair_lines,
)

# The shape of a kept line before modelling, whether it comes from Bronze or back from Silver.
CONFORMED = (
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


@dataclass
class ClassifiedLines:
    """The batch's lines, each with one outcome; the kept ones repaired; the keys the batch supersedes."""

    classified: DataFrame
    check: Reconciliation
    repaired: DataFrame
    superseded: DataFrame


@dataclass
class ClassifiedOptions:
    """The options Silver keeps (the batch's kept ones and the published ones whose line stays), the
    batch's quarantined ones, and their reconciliation."""

    kept: DataFrame | None
    quarantined: DataFrame | None
    check: Reconciliation


def outcomes(classified: DataFrame, table: str, extracted: int) -> Reconciliation:
    """One action: the rows by outcome and reason."""
    result = Reconciliation(table, extracted)
    for row in classified.groupBy("_outcome", "_reason").count().collect():
        result.outcomes[row["_outcome"]] = result.outcomes.get(row["_outcome"], 0) + row["count"]
        # An older version of a line may fail a rule too, but it is counted as a duplicate, not by reason.
        if row["_outcome"] == QUARANTINED and row["_reason"] is not None:
            result.reasons[row["_reason"]] = result.reasons.get(row["_reason"], 0) + row["count"]
    return result


def classify_batch(lines: DataFrame, extracted: int, test_app_pattern: str) -> ClassifiedLines:
    """Every line of the batch with its outcome (one action counts them), the kept ones repaired."""
    classified = classify_lines(lines, test_app_pattern).cache()
    check = outcomes(classified, "order_items", extracted)
    repaired = repair_lines(classified.where(F.col("_outcome") == KEPT)).cache()
    # The latest version of every key in the batch supersedes what Silver holds for that key, whether
    # it is kept or quarantined.
    superseded = classified.where(F.col("_latest")).select(*LINE_KEY).distinct().cache()
    return ClassifiedLines(classified, check, repaired, superseded)


def touched_dates(kept: DataFrame) -> set[str]:
    """The order-date partitions the kept lines may land in: a line's own date, and the day before
    (its order may have started before midnight)."""
    days = [row[0] for row in kept.select(F.to_date("creation_time_utc")).distinct().collect()]
    return {(day - delta).isoformat() for day in days for delta in (dt.timedelta(0), dt.timedelta(days=1))}


def published_dates(orders: DataFrame | None, keys: DataFrame) -> set[str]:
    """The order-date partitions where the batch's orders are published now (one action)."""
    if orders is None:
        return set()
    batch_orders = keys.select("order_id").distinct()
    rows = orders.join(batch_orders, "order_id", "left_semi").select("order_date").distinct().collect()
    return {row[0].isoformat() for row in rows}


def merge_lines(lines: ClassifiedLines, published: DataFrame | None) -> DataFrame:
    """The kept lines of the batch with the published lines of the partitions it touches that it does
    not supersede, in the conformed shape (cached: every model reads it)."""
    remaining = published.join(lines.superseded, list(LINE_KEY), "left_anti") if published else None
    kept = lines.repaired.select(*CONFORMED)
    return (union([kept, _conformed_from_silver(remaining) if remaining else None]) or kept).cache()


def _conformed_from_silver(lines: DataFrame) -> DataFrame:
    return lines.select(
        *(c for c in CONFORMED if c not in {"item_name", "_extracted_at", "_run_id"}),
        F.col("item_name_source").alias("item_name"),
        F.col("extracted_at").alias("_extracted_at"),
        F.col("ingest_run_id").alias("_run_id"),
    ).select(*CONFORMED)


def classify_batch_options(
    options: DataFrame | None, extracted: int, merged: DataFrame, published: DataFrame | None
) -> ClassifiedOptions:
    """The batch's options by outcome, and the published ones that stay while their line does."""
    check = Reconciliation("order_item_options", extracted)
    kept: DataFrame | None = None
    quarantined: DataFrame | None = None
    if options is not None:
        classified = classify_options(options, merged, published).cache()
        check = outcomes(classified, "order_item_options", extracted)
        kept = classified.where(F.col("_outcome") == KEPT).select(*OPTION_COLUMNS)
        quarantined = classified.where(F.col("_outcome") == QUARANTINED)
    still_attached = (
        published.select(*OPTION_COLUMNS).join(merged.select(*LINE_KEY), list(LINE_KEY), "left_semi")
        if published
        else None
    )
    return ClassifiedOptions(union([kept, still_attached]), quarantined, check)


def union(frames: list[DataFrame | None]) -> DataFrame | None:
    present = [frame for frame in frames if frame is not None]
    if not present:
        return None
    result = present[0]
    for frame in present[1:]:
        result = result.unionByName(frame)
    return result


def untouched(frame: DataFrame | None, touched: set[str]) -> DataFrame | None:
    """The rows of the partitions a run leaves as they are."""
    if frame is None:
        return None
    return frame.where(~F.col("order_date").cast("string").isin(sorted(touched)))


def check_nothing_lost(
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


def check_reconciled(*checks: Reconciliation) -> None:
    """Every extracted row of each source table is kept, a duplicate or quarantined."""
    for check in checks:
        if not check.balanced:
            raise UserError(
                f"silver: {check.table} does not reconcile: {check.extracted:,} extracted but "
                f"{sum(check.outcomes.values()):,} accounted for ({check.as_dict()})"
            )


def date_span(orders: DataFrame, calendar: DataFrame | None) -> tuple[dt.date, dt.date] | None:
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


def repairs(repaired: DataFrame, canonical: DataFrame) -> dict[str, int]:
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


def empty_options(spark: SparkSession) -> DataFrame:
    """fct_order_option without a row, in its contract's columns and types."""
    return spark.createDataFrame([], spark_schema(FCT_ORDER_OPTION))
