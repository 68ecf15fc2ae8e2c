"""Every extraction query is dialect-neutral: it compiles for SQL Server as it does for SQLite."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from bi_ingest.extract import Window, count_query, extraction_query, high_water_query, plan_window
from bi_ingest.specs import SPECS, spec_for
from bi_source.schema import metadata

WATERMARK = dt.datetime(2023, 6, 30, 21, 15)
HIGH_WATER = dt.datetime(2023, 7, 3, 12, 0)
WINDOWS = {
    "full": plan_window(spec_for("order_items"), None, HIGH_WATER, False, None, None),
    "incremental": plan_window(spec_for("order_items"), WATERMARK, HIGH_WATER, False, None, None),
    "range": plan_window(
        spec_for("order_items"), WATERMARK, HIGH_WATER, False, dt.date(2023, 1, 1), dt.date(2023, 1, 31)
    ),
}


def _compile(query: sa.Select[object]) -> tuple[str, dict[str, object]]:
    # SQLAlchemy leaves the SQL Server dialect's constructor unannotated.
    compiled = query.compile(dialect=mssql.dialect())  # type: ignore[no-untyped-call]
    return str(compiled), dict(compiled.params)


def _queries(window: Window) -> dict[str, sa.Select[object]]:
    parent_spec = spec_for("order_items")
    parent = metadata.tables["order_items"]
    return {
        spec.table: extraction_query(spec, metadata.tables[spec.table], window, parent, parent_spec)
        for spec in SPECS
    }


@pytest.mark.parametrize("mode", list(WINDOWS))
def test_extraction_queries_compile_for_sql_server(mode: str) -> None:
    for table, query in _queries(WINDOWS[mode]).items():
        text, params = _compile(query)
        assert f"FROM {table}" in text
        for forbidden in ("LIMIT", "OFFSET", "ILIKE", "::"):
            assert forbidden not in text
        _compile(count_query(query))
        assert all(isinstance(value, dt.datetime) for value in params.values())


def test_incremental_window_reads_back_the_lookback_and_keeps_null_cursors() -> None:
    text, params = _compile(_queries(WINDOWS["incremental"])["order_items"])
    assert "order_items.creation_time_utc >" in text and "order_items.creation_time_utc <=" in text
    assert "creation_time_utc IS NULL" in text
    assert WATERMARK - dt.timedelta(days=3) in params.values()
    assert HIGH_WATER in params.values()


def test_options_follow_their_parent_lines_window() -> None:
    text, params = _compile(_queries(WINDOWS["incremental"])["order_item_options"])
    assert "order_item_options.order_id IN (SELECT order_items.order_id" in text
    assert WATERMARK - dt.timedelta(days=3) in params.values()


def test_a_full_extraction_takes_every_option_orphans_included() -> None:
    text, params = _compile(_queries(WINDOWS["full"])["order_item_options"])
    assert "WHERE" not in text and not params


def test_a_range_is_inclusive_of_both_dates() -> None:
    _, params = _compile(_queries(WINDOWS["range"])["order_items"])
    assert set(params.values()) == {dt.datetime(2023, 1, 1), dt.datetime(2023, 2, 1)}


def test_date_dim_is_always_extracted_whole() -> None:
    for window in WINDOWS.values():
        text, _ = _compile(_queries(window)["date_dim"])
        assert "WHERE" not in text


def test_high_water_query_compiles_for_sql_server() -> None:
    text, _ = _compile(high_water_query(metadata.tables["order_items"], "creation_time_utc"))
    assert "max(order_items.creation_time_utc)" in text
