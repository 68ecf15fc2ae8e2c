"""The end-of-run summary as a terminal shows it: every number whole at 80 columns, no blank rows, a
failed job's error said once (by the `bi: error:` line, not again in the table)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from rich.console import Console

from bi_cli.display import run_summary
from bi_lake.runs import JobReport, RunReport, RunStatus, TableCounts

NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)


def report(status: RunStatus = "succeeded") -> RunReport:
    ingest = JobReport(
        job="ingest", status="succeeded", seconds=12.3,
        tables=[TableCounts(table="order_items", rows_in=1_234_567, rows_out=1_234_567, note="incremental"),
                TableCounts(table="order_item_options", rows_in=98_765, rows_out=98_765, note="incremental")],
    )  # fmt: skip
    silver = JobReport(
        job="silver", status="succeeded", seconds=41.0,
        tables=[TableCounts(table="fct_order_line", rows_in=1_234_567, rows_out=1_233_740, duplicates=12,
                            quarantined=827, note="missing_order_id 301, negative_quantity 290, "
                            "unknown_restaurant 236, price_out_of_range 0")],
    )  # fmt: skip
    gold = JobReport(
        job="gold", status="succeeded", seconds=29.4,
        tables=[TableCounts(table="agg_sales_daily", rows_in=1_233_740, rows_out=36_500,
                            note="12 partition(s) rebuilt, 36,500 rows published")],
    )  # fmt: skip
    if status == "failed":
        gold = JobReport(job="gold", status="failed", seconds=3.0,
                         error="UserError: contract agg_sales_daily: 3 rows with a NULL restaurant_id")  # fmt: skip
    return RunReport(run_id="20261130T060000Z-ab12", status=status, started_at=NOW, seconds=82.7,
                     jobs=[ingest, silver, gold])  # fmt: skip


def shown(table: object, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(table)
    return buffer.getvalue()


@pytest.mark.parametrize("width", [80, 100, 160])
def test_every_number_is_whole_and_no_row_is_blank(width: int) -> None:
    text = shown(run_summary(report()), width)
    for number, times in (("1,234,567", 3), ("1,233,740", 2), ("98,765", 2), ("827", 1), ("36,500", 2)):
        assert text.count(number) == times, (width, number, text)
    assert "…" not in text, text
    for name in ("order_item_options", "fct_order_line", "agg_sales_daily", "quarantined"):
        assert name in text
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    blank_rows = [line for line in lines[2:] if not line.strip()]
    assert len(blank_rows) <= 2, text
    assert len(lines) <= 22, text


def test_a_failed_jobs_error_is_not_repeated_in_the_table() -> None:
    text = shown(run_summary(report("failed")), 120)
    assert "3 rows with a NULL restaurant_id" not in text
    assert "gold" in text and "failed" in text
