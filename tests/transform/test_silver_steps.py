"""Silver's steps called alone, on crafted rows and a real SparkSession: classify, merge, options."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import DataFrame, SparkSession

from bi_contracts.silver import FCT_ORDER_OPTION
from bi_transform.silver import contracts, steps
from tests.transform.test_silver_rules import OPTION_SCHEMA, frame, line, option

pytestmark = pytest.mark.spark

LATER = dt.datetime(2024, 1, 11, 12, 0, tzinfo=dt.UTC)


def _as_published(conformed: DataFrame) -> DataFrame:
    """Conformed lines in fct_order_line's names for what they were built from."""
    return (
        conformed.withColumnRenamed("item_name", "item_name_source")
        .withColumnRenamed("_extracted_at", "extracted_at")
        .withColumnRenamed("_run_id", "ingest_run_id")
    )


def _published(spark: SparkSession) -> DataFrame:
    first = steps.classify_batch(frame(spark, [line(), line(lineitem_id="l2")]), 2, "Development")
    return _as_published(steps.merge_lines(first, None))


def _second_batch(spark: SparkSession) -> steps.ClassifiedLines:
    """l1 at a new price, l2 now with a quantity of 0 (quarantined), l3 new; each extracted later."""
    rows = [
        line(item_price=Decimal("18.00"), _run_id="run-2", _extracted_at=LATER),
        line(lineitem_id="l2", item_quantity=0, _run_id="run-2", _extracted_at=LATER),
        line(lineitem_id="l3", creation_time_utc=dt.datetime(2024, 1, 10, 0, 30), _run_id="run-2", _extracted_at=LATER),
    ]  # fmt: skip
    return steps.classify_batch(frame(spark, rows), 3, "Development")


def test_classify_counts_each_outcome_and_supersedes_every_key_of_the_batch(spark: SparkSession) -> None:
    batch = _second_batch(spark)
    assert batch.check.as_dict() | {"repairs": {}} == {
        "extracted": 3, "kept": 2, "duplicates": 0, "quarantined": 1,
        "quarantined_by_reason": {"invalid_quantity": 1}, "repairs": {}, "balanced": True,
    }  # fmt: skip
    assert sorted(r.lineitem_id for r in batch.superseded.collect()) == ["l1", "l2", "l3"]
    # A line's own day, and the day before it: its order may have started before midnight.
    assert steps.touched_dates(batch.repaired) == {"2024-01-08", "2024-01-09", "2024-01-10"}


def test_merge_takes_the_latest_version_and_drops_a_line_whose_latest_is_quarantined(
    spark: SparkSession,
) -> None:
    merged = steps.merge_lines(_second_batch(spark), _published(spark))
    assert merged.columns == list(steps.CONFORMED)
    by_line = {r.lineitem_id: (r.item_price, r._run_id) for r in merged.collect()}
    assert by_line == {"l1": (Decimal("18.00"), "run-2"), "l3": (Decimal("16.89"), "run-2")}


def test_options_stay_while_their_line_does(spark: SparkSession) -> None:
    merged = steps.merge_lines(_second_batch(spark), _published(spark))
    published = spark.createDataFrame(
        [option(), option(lineitem_id="l2", option_name="Avocado")], OPTION_SCHEMA
    ).drop("_source_table", "_run_id", "_extracted_at", "_cursor_value")
    batch = spark.createDataFrame(
        [option(lineitem_id="l3", option_name="Cheese", _run_id="run-2"), option(lineitem_id="gone")],
        OPTION_SCHEMA,
    )
    options = steps.classify_batch_options(batch, 2, merged, published)
    assert options.kept is not None and options.quarantined is not None
    assert sorted((r.lineitem_id, r.option_name) for r in options.kept.collect()) == [
        ("l1", "Bacon"),
        ("l3", "Cheese"),
    ]
    assert [(r.lineitem_id, r._reason) for r in options.quarantined.collect()] == [("gone", "orphan_option")]
    assert options.check.balanced


def test_a_batch_that_does_not_reconcile_is_refused(spark: SparkSession) -> None:
    batch = _second_batch(spark)
    batch.check.extracted = 4
    with pytest.raises(Exception, match="does not reconcile: 4 extracted but 3 accounted for"):
        steps.check_reconciled(batch.check)


def test_no_options_is_an_empty_table_that_meets_its_contract(spark: SparkSession) -> None:
    empty = steps.empty_options(spark)
    contracts.check_columns("fct_order_option", contracts.schema_of(FCT_ORDER_OPTION), empty)
    assert tuple(empty.columns) == FCT_ORDER_OPTION.column_names and empty.count() == 0
