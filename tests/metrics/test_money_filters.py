"""A filter on Gold's money (decimal(28,2), wider than a long) finds every matching row through the
query engine: no reader may skip a file on bounds it misreads (bi_lake.tables registers none)."""

from __future__ import annotations

from decimal import Decimal

from bi_contracts.gold import DATASETS_BY_NAME
from bi_contracts.money import TOTAL
from bi_contracts.published import gold_tables
from bi_lake.settings import Settings
from bi_metrics.engine import MetricsEngine


def test_a_money_filter_finds_every_customer_it_should(gold_lake: Settings) -> None:
    engine = MetricsEngine.open(gold_lake)
    try:
        engine.refresh()
        values = [row[0] for row in engine.query("SELECT clv FROM dim_customer_snapshot")]
        for limit in (Decimal(10), Decimal(50), Decimal(250)):
            expected = sum(1 for value in values if value < limit)
            (found,) = engine.query(f"SELECT count(*) FROM dim_customer_snapshot WHERE clv < {limit}")
            assert found[0] == expected > 0, (limit, found, expected)
    finally:
        engine.close()


def test_gold_registers_no_bounds_for_its_money_columns(gold_lake: Settings) -> None:
    table = gold_tables(gold_lake).load("dim_customer_snapshot")
    assert table is not None
    money = {
        table.schema().find_field(column.name).field_id
        for column in DATASETS_BY_NAME["dim_customer_snapshot"].columns
        if column.type == TOTAL.sql
    }
    assert money
    for task in table.scan().plan_files():
        assert not money & (task.file.lower_bounds.keys() | task.file.upper_bounds.keys())
        # Other columns keep theirs: readers still prune on dates and keys.
        assert task.file.lower_bounds
