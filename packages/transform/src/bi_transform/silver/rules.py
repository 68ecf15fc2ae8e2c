"""Silver's quality rules as column expressions: every source row gets one outcome.

The rules are declared in `bi_contracts.quality` (what each catches, in which order;
docs/metrics.md, *Quality rules*, is written from it); this applies them. Each row of a batch ends in
exactly one place: `kept`, `duplicate`, or `quarantined` with a reason. The outcome is computed in one
pass (column expressions and one window), never one action per rule.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bi_contracts.quality import (
    CARD_MASKED,
    CATEGORY_UNKNOWN,
    DEFAULT_TEST_APP_PATTERN,
    ITEM_NAME_MISSING,
    LINE_REASONS,
    MASK,
    PLAIN_CATEGORY,
    SUPPORTED_CURRENCY,
    UNKNOWN,
    VISIBLE_CARD_DIGITS,
)
from bi_lake.manifests import source_columns
from bi_lake.source_keys import ORDER_ITEM_OPTIONS_KEY, ORDER_ITEMS_KEY

KEPT, DUPLICATE, QUARANTINED = "kept", "duplicate", "quarantined"

LINE_KEY = ORDER_ITEMS_KEY
OPTION_COLUMNS = ORDER_ITEM_OPTIONS_KEY


def _blank(name: str) -> Column:
    return F.col(name).isNull() | (F.trim(F.col(name)) == "")


def line_reason(test_app_pattern: str) -> Column:
    """Why an order line is quarantined (the first rule that applies, in the declared order), or NULL
    when it is not."""
    applies = {
        "missing_key": _blank("order_id")
        | _blank("lineitem_id")
        | _blank("restaurant_id")
        | F.col("creation_time_utc").isNull(),
        "missing_value": F.col("item_price").isNull()
        | F.col("is_loyalty").isNull()
        | F.col("app_name").isNull(),
        "invalid_quantity": F.col("item_quantity").isNull() | (F.col("item_quantity") <= 0),
        "negative_price": F.col("item_price") < 0,
        "future_timestamp": F.col("creation_time_utc") > F.col("_extracted_at"),
        "unsupported_currency": F.col("currency").isNull()
        | (F.upper(F.trim(F.col("currency"))) != SUPPORTED_CURRENCY),
        "test_data": F.col("app_name").rlike(f"(?i){test_app_pattern}"),
    }
    first, *rest = LINE_REASONS
    reason = F.when(applies[first], first)
    for name in rest:
        reason = reason.when(applies[name], name)
    return reason


def _latest_first(value_columns: list[str]) -> list[Column]:
    # Most recently extracted first; the remaining columns only make the choice deterministic.
    return [
        F.col("_extracted_at").desc(),
        F.col("_run_id").desc(),
        *(F.col(name).asc_nulls_last() for name in value_columns),
    ]


def classify_lines(lines: DataFrame, test_app_pattern: str = DEFAULT_TEST_APP_PATTERN) -> DataFrame:
    """Adds `_reason`, `_outcome` and `_latest`.

    Of the versions of one (order_id, lineitem_id) the most recently extracted is the one that counts
    (`_latest`): it is kept, or quarantined when a rule rejects it; the older versions are duplicates.
    A line without a key cannot be matched to other versions and is quarantined on its own.
    """
    reasoned = lines.withColumn("_reason", line_reason(test_app_pattern))
    values = source_columns(lines.columns)
    keyed = ~(_blank("order_id") | _blank("lineitem_id"))
    versions = Window.partitionBy(*LINE_KEY).orderBy(*_latest_first(values))
    latest = ~keyed | (F.row_number().over(versions) == 1)
    return reasoned.withColumn("_latest", latest).withColumn(
        "_outcome",
        F.when(~F.col("_latest"), DUPLICATE).when(F.col("_reason").isNotNull(), QUARANTINED).otherwise(KEPT),
    )


def _card_digits() -> Column:
    return F.regexp_replace(F.col("printed_card_number"), "[^0-9]", "")


def _unmasked_card() -> Column:
    return F.length(_card_digits()) > VISIBLE_CARD_DIGITS


def masked_card() -> Column:
    """printed_card_number with at most its last digits showing: what Silver may hold of a card."""
    last = F.substring(_card_digits(), -VISIBLE_CARD_DIGITS, VISIBLE_CARD_DIGITS)
    return F.when(_unmasked_card(), F.concat(F.lit(MASK), last)).otherwise(F.col("printed_card_number"))


def repair_lines(kept: DataFrame) -> DataFrame:
    """The repairs on kept lines, each flagged in `_repairs` (an array of the declared repair kinds)."""
    category = F.trim(F.col("item_category"))
    plain = category.isNotNull() & category.rlike(PLAIN_CATEGORY)
    name = F.trim(F.col("item_name"))
    repairs = F.array_compact(
        F.array(
            F.when(~plain, F.lit(CATEGORY_UNKNOWN)),
            F.when(name.isNull() | (name == ""), F.lit(ITEM_NAME_MISSING)),
            F.when(_unmasked_card(), F.lit(CARD_MASKED)),
        )
    )
    return (
        kept.withColumn("_repairs", repairs)
        .withColumn("item_category", F.when(plain, category).otherwise(F.lit(UNKNOWN)))
        .withColumn("item_name", F.when(name.isNull() | (name == ""), F.lit(UNKNOWN)).otherwise(name))
        .withColumn("item_key", F.lower(F.col("item_name")))
        .withColumn("printed_card_number", masked_card())
    )


def classify_options(
    options: DataFrame, line_keys: DataFrame, published: DataFrame | None = None
) -> DataFrame:
    """Adds `_reason` and `_outcome` to option rows.

    An option whose (order_id, lineitem_id) matches no kept line is an orphan; identical rows (all
    six columns) collapse to one, and a row identical to one already published is a duplicate too.
    """
    matched = options.join(
        line_keys.select(*LINE_KEY).distinct().withColumn("_has_line", F.lit(True)), list(LINE_KEY), "left"
    )
    if published is not None:
        known = published.select(*(F.col(c).alias(f"_p_{c}") for c in OPTION_COLUMNS)).distinct()
        same = [F.col(c).eqNullSafe(F.col(f"_p_{c}")) for c in OPTION_COLUMNS]
        condition = same[0]
        for term in same[1:]:
            condition = condition & term
        matched = (
            matched.join(known, condition, "left")
            .withColumn("_published", F.col(f"_p_{OPTION_COLUMNS[0]}").isNotNull())
            .drop(*(f"_p_{c}" for c in OPTION_COLUMNS))
        )
    else:
        matched = matched.withColumn("_published", F.lit(False))
    reasoned = matched.withColumn(
        "_reason",
        F.when(F.col("_has_line").isNull(), "orphan_option").when(
            F.col("option_price").isNull() | F.col("option_quantity").isNull(), "missing_value"
        ),
    ).drop("_has_line")
    identical = Window.partitionBy(*OPTION_COLUMNS, F.col("_reason").isNull()).orderBy(*_latest_first([]))
    return reasoned.withColumn(
        "_outcome",
        F.when(F.col("_reason").isNotNull(), QUARANTINED)
        .when((F.row_number().over(identical) == 1) & ~F.col("_published"), KEPT)
        .otherwise(DUPLICATE),
    ).drop("_published")
