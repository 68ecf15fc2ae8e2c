"""Silver's quality rules, declared once: what each catches and what becomes of the row.

`bi_transform.silver.rules` applies them in Spark, quarantine rules in this order (a line is
quarantined for the first that applies); the run report counts rows by these reasons and repairs by
these kinds, the Data health page explains them, and `docs/metrics.md` is written from these
declarations. Plain Python, so reading them needs no Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ORDER_ITEMS, ORDER_ITEM_OPTIONS = "order_items", "order_item_options"
Outcome = Literal["quarantined", "duplicate", "repaired"]

UNKNOWN = "Unknown"
DEFAULT_TEST_APP_PATTERN = "DEVELOPMENT"
SUPPORTED_CURRENCY = "USD"
# A plain category name: words of letters, with spaces, '&', apostrophes or hyphens between them.
PLAIN_CATEGORY = r"^[A-Za-z][A-Za-z&' -]*$"
VISIBLE_CARD_DIGITS = 4
MASK = "*" * 12


@dataclass(frozen=True)
class QualityRule:
    """One rule: the reason (quarantine) or repair kind the run report counts it under, or the kind of
    duplicate it describes (the report counts duplicates together)."""

    name: str
    table: str
    catches: str
    outcome: Outcome
    then: str

    @property
    def label(self) -> str:
        """The reason as words: `missing_key` reads `Missing key`."""
        return self.name.replace("_", " ").capitalize()


# What every Silver run guarantees, whichever rules apply.
GUARANTEE = (
    "Every source row of a batch ends in exactly one place: kept, a recorded duplicate, or quarantined "
    "with its reason (never silently dropped). Each run reconciles every source table against the Bronze "
    "manifests, extracted = kept + duplicates + quarantined, with counts by reason and repairs by kind in "
    "the run report and `bi status`, and fails, publishing nothing, when the equation does not hold."
)

_QUARANTINE = (
    "kept under `_quarantine/<table>/run_id=<run>/` with its source values, `_reason` and `_silver_run_id`; "
    "never published"
)

LINE_RULES: tuple[QualityRule, ...] = (
    QualityRule(
        "missing_key",
        ORDER_ITEMS,
        "order_id, lineitem_id or restaurant_id NULL or blank, or creation_time_utc NULL",
        "quarantined",
        _QUARANTINE,
    ),
    QualityRule(
        "missing_value",
        ORDER_ITEMS,
        "item_price, is_loyalty or app_name NULL: columns the source declares NOT NULL that no other "
        "rule covers; such a line cannot be valued or attributed",
        "quarantined",
        _QUARANTINE,
    ),
    QualityRule("invalid_quantity", ORDER_ITEMS, "item_quantity NULL or <= 0", "quarantined", _QUARANTINE),
    QualityRule("negative_price", ORDER_ITEMS, "item_price < 0", "quarantined", _QUARANTINE),
    QualityRule(
        "future_timestamp",
        ORDER_ITEMS,
        "creation_time_utc later than the row's extraction time (`_extracted_at`)",
        "quarantined",
        _QUARANTINE,
    ),
    QualityRule(
        "unsupported_currency",
        ORDER_ITEMS,
        f"currency NULL or, trimmed and in any case, other than {SUPPORTED_CURRENCY}",
        "quarantined",
        _QUARANTINE,
    ),
    QualityRule(
        "test_data",
        ORDER_ITEMS,
        f"app_name matches `BI_TEST_APP_PATTERN`, any case (default `{DEFAULT_TEST_APP_PATTERN}`)",
        "quarantined",
        _QUARANTINE,
    ),
)

OPTION_RULES: tuple[QualityRule, ...] = (
    QualityRule(
        "orphan_option",
        ORDER_ITEM_OPTIONS,
        "its (order_id, lineitem_id) matches no kept order line",
        "quarantined",
        _QUARANTINE,
    ),
    QualityRule(
        "missing_value",
        ORDER_ITEM_OPTIONS,
        "option_price or option_quantity NULL (on an option whose line is kept)",
        "quarantined",
        _QUARANTINE,
    ),
)

DUPLICATE_RULES: tuple[QualityRule, ...] = (
    QualityRule(
        "line_version",
        ORDER_ITEMS,
        "an older version of an (order_id, lineitem_id): the most recently extracted version is the one "
        "that counts (ties: the later run, then the values), and is kept or quarantined by the rules "
        "above, so a line voided in the source leaves Silver",
        "duplicate",
        "counted as a duplicate, not published",
    ),
    QualityRule(
        "identical_option",
        ORDER_ITEM_OPTIONS,
        "option rows identical in all six columns, in one batch",
        "duplicate",
        "collapsed to one; the others counted as duplicates",
    ),
    QualityRule(
        "published_option",
        ORDER_ITEM_OPTIONS,
        "an option identical to one already published (the extraction's lookback window re-reads them)",
        "duplicate",
        "counted as a duplicate, not published again",
    ),
)

CATEGORY_UNKNOWN, ITEM_NAME_MISSING, ITEM_NAME_VARIANT, CARD_MASKED = (
    "category_unknown",
    "item_name_missing",
    "item_name_variant",
    "card_masked",
)
REPAIR_RULES: tuple[QualityRule, ...] = (
    QualityRule(
        CATEGORY_UNKNOWN,
        ORDER_ITEMS,
        f"item_category NULL, blank or not a plain category name (`{PLAIN_CATEGORY}` after trimming: "
        "a pasted URL, markup)",
        "repaired",
        f"kept with item_category `{UNKNOWN}`",
    ),
    QualityRule(
        ITEM_NAME_MISSING,
        ORDER_ITEMS,
        "item_name NULL or blank",
        "repaired",
        f"kept with item_name `{UNKNOWN}`",
    ),
    QualityRule(
        ITEM_NAME_VARIANT,
        ORDER_ITEMS,
        "an item name spelled unlike its item's canonical name (case, surrounding whitespace)",
        "repaired",
        "kept with its trimmed spelling; the item is keyed by its lower-case name and `dim_item` names "
        "it by its most frequent trimmed spelling (ties: the first in sort order)",
    ),
    QualityRule(
        CARD_MASKED,
        ORDER_ITEMS,
        f"printed_card_number with more than {VISIBLE_CARD_DIGITS} digits visible",
        "repaired",
        f"masked to `{MASK}` + its last {VISIBLE_CARD_DIGITS} digits (a quarantined line's too): a full "
        "card number never reaches Silver or Gold",
    ),
)

LINE_REASONS = tuple(rule.name for rule in LINE_RULES)
REPAIR_KINDS = tuple(rule.name for rule in REPAIR_RULES)
# (source table, reason) -> the rule a run report's quarantine count is under.
QUARANTINE_RULES = {(rule.table, rule.name): rule for rule in (*LINE_RULES, *OPTION_RULES)}
