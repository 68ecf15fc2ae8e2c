"""The measures are declared once: the Gold job's Spark totals and the SQL the metric layer runs over
each Gold dataset are both generated from `bi_contracts.measures`, so they can only disagree if a
declaration names a column one side does not have. These tests hold the declarations to the columns
both sides read."""

from __future__ import annotations

from bi_contracts.gold import CUSTOMER_ROWS, DATASETS, DATASETS_BY_NAME
from bi_contracts.measures import MEASURES, MEASURES_BY_NAME, SILVER_AMOUNTS
from bi_contracts.silver import FCT_ORDER, FCT_ORDER_LINE
from bi_transform.gold.aggregates import SOURCES

FCT_ORDER_COLUMNS = set(FCT_ORDER.column_names)


def test_each_measure_reads_columns_silver_orders_have() -> None:
    assert set(SILVER_AMOUNTS.values()) <= FCT_ORDER_COLUMNS
    for measure in MEASURES:
        assert measure.where_columns <= FCT_ORDER_COLUMNS, measure.name
        if measure.kind == "sum":
            assert measure.amount in SILVER_AMOUNTS, measure.name


def test_every_aggregate_totals_every_order_measure_it_has_a_column_for() -> None:
    """A measure column Gold writes is one the Spark totals compute and the SQL sums."""
    aggregates = [d for d in DATASETS if d.role == "aggregate"]
    assert {d.name for d in aggregates} == set(SOURCES)
    for dataset in aggregates:
        for name in dataset.column_names:
            if name == CUSTOMER_ROWS:
                # A per-row flag, summed only where each row is one customer: never in general.
                assert dataset.answers[name] == "count(DISTINCT user_id)", dataset.name
            elif name in MEASURES_BY_NAME:
                assert dataset.answers[name] == f"sum({name})", (dataset.name, name)


def test_a_filtered_measure_is_answered_with_its_declared_condition() -> None:
    per_customer = DATASETS_BY_NAME["agg_customer_daily"].answers
    assert per_customer["customer_orders"] == "sum(orders) FILTER (WHERE user_id IS NOT NULL)"
    assert per_customer["customer_net_sales"] == "sum(net_sales) FILTER (WHERE user_id IS NOT NULL)"
    per_line = DATASETS_BY_NAME["agg_order_item"].answers
    assert per_line["discounted_orders"] == "count(DISTINCT order_id) FILTER (WHERE discount_amount > 0)"
    assert per_line["loyalty_orders"] == "count(DISTINCT order_id) FILTER (WHERE is_loyalty)"


def test_a_filter_is_never_applied_to_rows_that_mix_passing_and_failing_orders() -> None:
    """agg_sales_daily's rows hold guests' and customers' orders together: it answers customer_orders
    from its own pre-counted column, never by filtering its rows on user_id."""
    daily = DATASETS_BY_NAME["agg_sales_daily"]
    assert "user_id" not in daily.grain
    assert daily.answers["customer_orders"] == "sum(customer_orders)"
    assert "customers" not in daily.answers


def test_silver_amounts_and_gold_totals_are_the_contracts_money() -> None:
    """Silver's amounts are AMOUNT and Gold's totals TOTAL: the type Spark gives a sum of amounts
    (ten more digits), so writing a total never rounds it."""
    from bi_contracts.money import AMOUNT, TOTAL

    amounts = {"net_amount", "gross_amount", "discount_amount"}
    order_types = {c.type for c in FCT_ORDER.columns if c.name in amounts}
    lines = {"option_amount", "line_net", "line_gross", "line_discount"}
    line_types = {c.type for c in FCT_ORDER_LINE.columns if c.name in lines}
    assert order_types == line_types == {AMOUNT.sql}
    assert (TOTAL.precision, TOTAL.scale) == (min(38, AMOUNT.precision + 10), AMOUNT.scale)
    gold_money = {column.type for d in DATASETS for column in d.columns if column.type.startswith("decimal")}
    assert gold_money == {TOTAL.sql}
