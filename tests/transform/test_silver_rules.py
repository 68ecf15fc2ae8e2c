"""Each quality rule and repair (docs/metrics.md, *Quality rules*) on crafted rows, on a real SparkSession."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from bi_contracts.quality import LINE_REASONS
from bi_transform.silver.rules import classify_lines, classify_options, repair_lines

pytestmark = pytest.mark.spark

EXTRACTED = dt.datetime(2024, 1, 10, 12, 0, tzinfo=dt.UTC)
LINE_SCHEMA = (
    "app_name string, restaurant_id string, creation_time_utc timestamp, order_id string, user_id string, "
    "printed_card_number string, is_loyalty boolean, currency string, lineitem_id string, item_category string, "
    "item_name string, item_price decimal(10,2), item_quantity int, _source_table string, _run_id string, "
    "_extracted_at timestamp, _cursor_value timestamp"
)


def line(**changes: Any) -> dict[str, Any]:
    row = {
        "app_name": "OrderUp iOS", "restaurant_id": "r1", "creation_time_utc": dt.datetime(2024, 1, 9, 18, 0),
        "order_id": "o1", "user_id": "u1", "printed_card_number": None, "is_loyalty": False, "currency": "USD",
        "lineitem_id": "l1", "item_category": "Entree", "item_name": "Steak Frites", "item_price": Decimal("16.89"),
        "item_quantity": 1, "_source_table": "order_items", "_run_id": "run-1", "_extracted_at": EXTRACTED,
        "_cursor_value": None,
    }  # fmt: skip
    row.update(changes)
    return row


def frame(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    return spark.createDataFrame(rows, LINE_SCHEMA)


def outcomes(spark: SparkSession, rows: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    classified = classify_lines(frame(spark, rows)).orderBy("lineitem_id", "_run_id").collect()
    return [(r.lineitem_id, r._outcome, r._reason) for r in classified]


REASON_CASES = [
    ({"order_id": None}, "missing_key"),
    ({"restaurant_id": "  "}, "missing_key"),
    ({"creation_time_utc": None}, "missing_key"),
    ({"item_price": None}, "missing_value"),
    ({"item_quantity": 0}, "invalid_quantity"),
    ({"item_quantity": -2}, "invalid_quantity"),
    ({"item_price": Decimal("-1.00")}, "negative_price"),
    ({"creation_time_utc": dt.datetime(2024, 1, 11)}, "future_timestamp"),
    ({"currency": "EUR"}, "unsupported_currency"),
    ({"app_name": "OrderUp - Development"}, "test_data"),
]


def test_every_declared_reason_has_a_crafted_case() -> None:
    assert {reason for _, reason in REASON_CASES} == set(LINE_REASONS)


@pytest.mark.parametrize(("changes", "reason"), REASON_CASES)
def test_each_quarantine_reason(spark: SparkSession, changes: dict[str, Any], reason: str) -> None:
    assert outcomes(spark, [line(**changes)]) == [("l1", "quarantined", reason)]


def test_a_missing_lineitem_id_is_a_missing_key(spark: SparkSession) -> None:
    assert outcomes(spark, [line(lineitem_id=None)])[0][1:] == ("quarantined", "missing_key")


def test_the_test_app_pattern_is_configurable(spark: SparkSession) -> None:
    classified = classify_lines(frame(spark, [line(app_name="Staging Kiosk")]), "staging").collect()
    assert classified[0]._reason == "test_data"


def test_a_valid_line_is_kept(spark: SparkSession) -> None:
    assert outcomes(spark, [line()]) == [("l1", "kept", None)]


def test_the_most_recently_extracted_version_of_a_line_wins(spark: SparkSession) -> None:
    older = line(_run_id="run-1", item_price=Decimal("10.00"))
    newer = line(_run_id="run-2", _extracted_at=EXTRACTED + dt.timedelta(days=1), item_price=Decimal("12.00"))
    rows = classify_lines(frame(spark, [older, newer])).collect()
    kept = [r for r in rows if r._outcome == "kept"]
    assert len(kept) == 1 and kept[0].item_price == Decimal("12.00")
    assert sorted(r._outcome for r in rows) == ["duplicate", "kept"]


def test_the_latest_version_counts_even_when_a_rule_rejects_it(spark: SparkSession) -> None:
    good = line(_run_id="run-1")
    voided = line(_run_id="run-2", _extracted_at=EXTRACTED + dt.timedelta(days=1), item_quantity=0)
    rows = {
        r._run_id: (r._outcome, r._reason) for r in classify_lines(frame(spark, [good, voided])).collect()
    }
    assert rows == {"run-1": ("duplicate", None), "run-2": ("quarantined", "invalid_quantity")}


def test_repairs_category_name_and_card(spark: SparkSession) -> None:
    rows = [
        line(lineitem_id="a", item_category="https://admin.orderup.internal/menu/categories/17/edit"),
        line(lineitem_id="b", item_category="   "),
        line(lineitem_id="c", item_category="<b>Entree</b>", item_name="  steak frites "),
        line(lineitem_id="d", item_name=None),
        line(lineitem_id="e", printed_card_number="4111 1111 1111 1234", is_loyalty=True),
        line(
            lineitem_id="f",
            printed_card_number="************9876",
            is_loyalty=True,
            item_category="Kids Meal",
        ),
    ]
    repaired = {r.lineitem_id: r for r in repair_lines(frame(spark, rows)).collect()}
    assert (
        repaired["a"].item_category == repaired["b"].item_category == repaired["c"].item_category == "Unknown"
    )
    assert "category_unknown" in repaired["a"]._repairs
    assert repaired["c"].item_name == "steak frites" and repaired["c"].item_key == "steak frites"
    assert repaired["d"].item_name == "Unknown" and "item_name_missing" in repaired["d"]._repairs
    assert repaired["e"].printed_card_number == "************1234" and repaired["e"]._repairs == [
        "card_masked"
    ]
    assert repaired["f"].printed_card_number == "************9876" and repaired["f"]._repairs == []
    assert repaired["f"].item_category == "Kids Meal"


OPTION_SCHEMA = (
    "order_id string, lineitem_id string, option_group_name string, option_name string, "
    "option_price decimal(10,2), option_quantity int, _source_table string, _run_id string, "
    "_extracted_at timestamp, _cursor_value timestamp"
)


def option(**changes: Any) -> dict[str, Any]:
    row = {
        "order_id": "o1", "lineitem_id": "l1", "option_group_name": "Toppings", "option_name": "Bacon",
        "option_price": Decimal("1.50"), "option_quantity": 1, "_source_table": "order_item_options",
        "_run_id": "run-1", "_extracted_at": EXTRACTED, "_cursor_value": None,
    }  # fmt: skip
    row.update(changes)
    return row


def test_identical_options_collapse_and_orphans_are_quarantined(spark: SparkSession) -> None:
    options = spark.createDataFrame(
        [option(), option(), option(), option(option_name="Avocado"), option(lineitem_id="nowhere")],
        OPTION_SCHEMA,
    )
    lines = frame(spark, [line()])
    result = classify_options(options, lines).collect()
    outcome = sorted((r.option_name, r.lineitem_id, r._outcome, r._reason) for r in result)
    assert outcome == [
        ("Avocado", "l1", "kept", None),
        ("Bacon", "l1", "duplicate", None),
        ("Bacon", "l1", "duplicate", None),
        ("Bacon", "l1", "kept", None),
        ("Bacon", "nowhere", "quarantined", "orphan_option"),
    ]
