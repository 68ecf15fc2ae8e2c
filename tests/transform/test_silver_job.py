"""The Silver job end to end on real SQLite, real Parquet and a real SparkSession."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pyspark.sql import DataFrame, SparkSession

from bi_contracts.published import gold_tables, published
from bi_contracts.silver import FCT_ORDER, TABLES_BY_NAME, SilverState
from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.runs import JobReport, RunReport, load_run_reports
from bi_lake.settings import Settings
from bi_source.config import SeedConfig
from bi_source.generator import add_days
from bi_transform.silver import job, steps
from bi_transform.silver.store import SilverStore
from tests.conftest import RunPipeline, pipeline_on, seeded_source, sqlite_url
from tests.lakes import unreferenced_files

pytestmark = pytest.mark.spark

KEPT_LINES = """
    WITH lines AS (
        SELECT * FROM order_items
        WHERE order_id IS NOT NULL AND lineitem_id IS NOT NULL AND item_quantity > 0 AND item_price >= 0
          AND currency = 'USD' AND app_name NOT LIKE '%DEVELOPMENT%'
    )
"""


@pytest.fixture
def run_pipeline(settings: Settings) -> RunPipeline:
    """Silver's tests stop after Silver unless a test asks for more."""

    return pipeline_on(settings, only=("ingest", "silver"))


def _store(settings: Settings) -> SilverStore:
    return job.open_store(settings)


def _table(spark: SparkSession, settings: Settings, name: str) -> DataFrame:
    store = _store(settings)
    frame = store.read(spark, store.state(), name)
    assert frame is not None, name
    return frame


def _rows(frame: DataFrame) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in frame.collect())


def _sql(engine: sa.Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.exec_driver_sql(sql).scalar_one()


def _value(frame: DataFrame) -> Any:
    """The one value of a one-row aggregate (an aggregate always has its row)."""
    row = frame.first()
    assert row is not None
    return row[0]


def test_silver_models_the_source_exactly_and_reconciles(
    spark: SparkSession, run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    report = run_pipeline()
    assert report.status == "succeeded", report.error
    silver = next(j for j in report.jobs if j.job == "silver")
    reconciliation = silver.details["reconciliation"]
    for counts in reconciliation.values():
        assert counts["balanced"]
        assert counts["extracted"] == counts["kept"] + counts["duplicates"] + counts["quarantined"]
    lines = _table(spark, settings, "fct_order_line")
    kept_lines = _sql(source_engine, KEPT_LINES + "SELECT count(*) FROM lines")
    assert lines.count() == kept_lines == reconciliation["order_items"]["kept"]
    # Net sales to the cent: item prices plus every distinct option of a kept line.
    expected_cents = _sql(
        source_engine,
        KEPT_LINES
        + """, options AS (SELECT DISTINCT * FROM order_item_options)
        SELECT (SELECT sum(CAST(round(item_price * 100) AS INTEGER)) FROM lines)
             + (SELECT sum(CAST(round(o.option_price * 100) AS INTEGER) * o.option_quantity)
                FROM options o JOIN lines l USING (order_id, lineitem_id))""",
    )
    total = _value(lines.agg({"line_net": "sum"}))
    assert int(total * 100) == expected_cents
    gross_minus_discount = _value(lines.selectExpr("sum(line_gross - line_discount)"))
    assert gross_minus_discount == total
    orders = _table(spark, settings, "fct_order")
    assert orders.count() == _sql(source_engine, KEPT_LINES + "SELECT count(DISTINCT order_id) FROM lines")
    assert _value(orders.selectExpr("sum(net_amount)")) == total
    customers = _table(spark, settings, "dim_customer").where("is_current")
    assert customers.count() == _sql(
        source_engine, KEPT_LINES + "SELECT count(DISTINCT user_id) FROM lines WHERE user_id IS NOT NULL"
    )
    items = _table(spark, settings, "dim_item")
    assert items.where("item_category = 'Unknown'").count() == 0
    assert _table(spark, settings, "dim_restaurant").count() == 5
    assert lines.where("printed_card_number NOT RLIKE '^[*]{12}[0-9]{4}$'").count() == 0
    quarantine = spark.read.parquet(
        Lake.from_settings(settings).silver.uri_of(f"_quarantine/order_items/run_id={report.run_id}")
    )
    reasons = {row["_reason"] for row in quarantine.select("_reason").distinct().collect()}
    assert "test_data" in reasons
    assert quarantine.count() == reconciliation["order_items"]["quarantined"]
    assert set(quarantine.columns) >= {"item_price", "app_name", "_run_id", "_reason", "_silver_run_id"}


def test_late_arrivals_merge_into_their_day_and_only_touched_partitions_change(
    spark: SparkSession, run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    assert run_pipeline().status == "succeeded"
    store = _store(settings)
    before = store.state()
    summary = add_days(source_engine, 7, seed_value=3)
    assert summary.late_lines > 0
    second = run_pipeline()
    assert second.status == "succeeded", second.error
    after = store.state()
    assert len(after.consumed_ingest_runs) == 2
    old = store.partition_digests(before, "fct_order_line")
    new = store.partition_digests(after, "fct_order_line")
    unchanged = [day for day in old if old[day] == new[day]]
    rewritten = [day for day in old if old[day] != new[day]]
    assert unchanged and "2023-01-05" in unchanged
    assert rewritten and all(day >= "2023-01-25" for day in rewritten)
    assert len(new) == len(old) + 7
    lines = _table(spark, settings, "fct_order_line")
    assert lines.count() == lines.select("order_id", "lineitem_id").distinct().count()
    assert lines.count() == _sql(source_engine, KEPT_LINES + "SELECT count(*) FROM lines")
    with source_engine.connect() as connection:
        late = connection.exec_driver_sql(
            f"SELECT lineitem_id FROM order_items ORDER BY rowid DESC LIMIT {summary.order_lines}"
        ).all()
    published = {row.lineitem_id for row in lines.select("lineitem_id").collect()}
    assert {row[0] for row in late if row[0]} - published <= _quarantined_ids(spark, settings, second.run_id)


def _quarantined_ids(spark: SparkSession, settings: Settings, run_id: str) -> set[str]:
    path = Lake.from_settings(settings).silver.uri_of(f"_quarantine/order_items/run_id={run_id}")
    return {row.lineitem_id for row in spark.read.parquet(path).select("lineitem_id").collect()}


def test_incremental_runs_equal_a_full_refresh(
    spark: SparkSession, run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    run_pipeline()
    add_days(source_engine, 4, seed_value=8)
    run_pipeline()
    incremental = {name: _rows(_table(spark, settings, name)) for name in TABLES_BY_NAME}
    refreshed = run_pipeline(full_refresh=True, only=("silver",))
    assert refreshed.status == "succeeded", refreshed.error
    again = {name: _rows(_table(spark, settings, name)) for name in TABLES_BY_NAME}
    for name in TABLES_BY_NAME:
        assert again[name] == incremental[name], name
    # Each file in the table's folder is one a kept snapshot references (none is left unpublished).
    on_disk, referenced = unreferenced_files(_store(settings).tables, "fct_order_line")
    assert on_disk == referenced


def _job(report: RunReport, name: str) -> JobReport:
    (found,) = [job for job in report.jobs if job.job == name]
    return found


@pytest.mark.e2e
def test_a_run_that_brings_nothing_new_publishes_nothing_and_gold_follows(
    spark: SparkSession, settings: Settings, source_engine: sa.Engine
) -> None:
    run_all = pipeline_on(settings)
    assert run_all().status == "succeeded"
    store = _store(settings)
    before = store.state()
    gold_before = published(gold_tables(settings))

    again = run_all()
    assert again.status == "succeeded", again.error
    silver = _job(again, "silver")
    assert silver.details["changed"] is False
    # The lookback re-read lines (a quarantined test order among them) and options, all as they were.
    lines, options = silver.tables
    assert lines.rows_in > 0 and lines.duplicates == lines.rows_in and lines.rows_out == 0
    assert options.duplicates == options.rows_in
    after = store.state()
    assert after.changed_by == before.run_id and after.run_id == again.run_id
    assert set(after.consumed_ingest_runs) - set(before.consumed_ingest_runs) == set(
        silver.details["consumed_ingest_runs"]
    )
    assert {t: s for t, s in after.tables.items() if t != "fct_order"} == {
        t: s for t, s in before.tables.items() if t != "fct_order"
    }
    assert store.partition_digests(after, "fct_order") == store.partition_digests(before, "fct_order")
    assert "up to date" in _job(again, "gold").details["note"]
    assert published(gold_tables(settings)) == gold_before

    # A restaurant renamed, no line changed: the restaurants, read in full, are modelled again.
    with source_engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE restaurants SET name = 'Renamed Kitchen' WHERE restaurant_id = "
            "(SELECT min(restaurant_id) FROM restaurants)"
        )
    renamed = run_all()
    assert renamed.status == "succeeded", renamed.error
    assert "changed" not in _job(renamed, "silver").details
    names = _table(spark, settings, "dim_restaurant").select("name").collect()
    assert "Renamed Kitchen" in {row.name for row in names}

    # One re-read line changed at the source: this run publishes it, and Gold follows.
    with source_engine.begin() as connection:
        lineitem_id = connection.exec_driver_sql(
            KEPT_LINES + "SELECT lineitem_id FROM lines ORDER BY creation_time_utc DESC LIMIT 1"
        ).scalar_one()
        connection.exec_driver_sql(
            f"UPDATE order_items SET item_price = item_price + 1 WHERE lineitem_id = '{lineitem_id}'"
        )
    changed = run_all()
    assert changed.status == "succeeded", changed.error
    assert "changed" not in _job(changed, "silver").details
    latest = store.state()
    assert latest.changed_by == latest.run_id != after.run_id
    price = _table(spark, settings, "fct_order_line").where(f"lineitem_id = '{lineitem_id}'")
    with source_engine.connect() as connection:
        expected = connection.exec_driver_sql(
            f"SELECT item_price FROM order_items WHERE lineitem_id = '{lineitem_id}'"
        ).scalar_one()
    assert _value(price.select("item_price")) == Decimal(str(expected))
    assert published(gold_tables(settings)).silver_run_id == latest.run_id


def test_a_row_judged_by_when_it_was_read_is_judged_again(
    spark: SparkSession, run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    """A line quarantined because it was created after its extraction may be kept when read again,
    though its values did not change: such a batch is never taken as unchanged."""
    with source_engine.begin() as connection:
        last = connection.exec_driver_sql("SELECT max(creation_time_utc) FROM order_items").scalar_one()
        lineitem_id = connection.exec_driver_sql(
            KEPT_LINES + "SELECT lineitem_id FROM lines ORDER BY creation_time_utc DESC LIMIT 1"
        ).scalar_one()
        soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)).strftime("%Y-%m-%d %H:%M:%S.%f")
        connection.exec_driver_sql(
            f"UPDATE order_items SET creation_time_utc = '{soon}' WHERE lineitem_id = '{lineitem_id}'"
        )
    first = run_pipeline()
    assert first.status == "succeeded", first.error
    assert (
        _job(first, "silver").details["reconciliation"]["order_items"]["quarantined_by_reason"][
            "future_timestamp"
        ]
        == 1
    )
    assert last is not None
    while dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") <= soon:
        time.sleep(1)
    second = run_pipeline()
    assert second.status == "succeeded", second.error
    assert "changed" not in _job(second, "silver").details
    kept = _table(spark, settings, "fct_order_line").where(f"lineitem_id = '{lineitem_id}'")
    assert kept.count() == 1


def test_a_broken_contract_publishes_nothing(
    spark: SparkSession, run_pipeline: RunPipeline, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = [replace(c, nullable=False) if c.name == "user_id" else c for c in FCT_ORDER.columns]
    monkeypatch.setitem(TABLES_BY_NAME, "fct_order", replace(FCT_ORDER, columns=tuple(strict)))
    report = run_pipeline()
    assert report.status == "failed"
    assert report.error is not None
    assert "fct_order.user_id: not_nullable failed" in report.error and "nothing published" in report.error
    # The rows at fault: named by key in the message, kept whole in the saved run report.
    assert "e.g. (order_id='" in report.error
    (saved,) = load_run_reports(Lake.from_settings(settings).root)
    (silver_report,) = [job for job in saved.jobs if job.job == "silver"]
    (problem,) = silver_report.details["contract"]["problems"]
    assert silver_report.details["contract"]["table"] == "fct_order" and problem["rows"]
    assert all(row["user_id"] is None and row["order_id"] in report.error for row in problem["rows"][:3])
    assert _store(settings).state() == SilverState()
    silver = Lake.from_settings(settings).silver
    assert not [key for key in silver.list_keys() if "/data/" in key and key.endswith(".parquet")]


def test_loyalty_history_is_kept_as_type_2_rows(
    spark: SparkSession, run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    with source_engine.begin() as connection:
        user = connection.exec_driver_sql(
            "SELECT user_id FROM order_items WHERE user_id IS NOT NULL AND app_name NOT LIKE '%DEVELOPMENT%'"
            " GROUP BY user_id HAVING count(DISTINCT order_id) >= 5 ORDER BY user_id LIMIT 1"
        ).scalar_one()
        orders = [
            row[0]
            for row in connection.exec_driver_sql(
                f"SELECT order_id FROM order_items WHERE user_id = '{user}' GROUP BY order_id"
                " ORDER BY min(creation_time_utc)"
            )
        ]
        statuses = [False, False, True, True] + [False] * (len(orders) - 4)
        for order_id, member in zip(orders, statuses, strict=True):
            card = "'************4242'" if member else "NULL"
            connection.exec_driver_sql(
                f"UPDATE order_items SET is_loyalty = {int(member)}, printed_card_number = {card}"
                f" WHERE order_id = '{order_id}'"
            )
    assert run_pipeline().status == "succeeded"
    history = (
        _table(spark, settings, "dim_customer").where(f"user_id = '{user}'").orderBy("valid_from").collect()
    )
    assert [(row.loyalty_member, row.is_current) for row in history] == [
        (False, False),
        (True, False),
        (False, True),
    ]
    assert history[0].valid_to == history[1].valid_from and history[1].valid_to == history[2].valid_from
    assert history[2].valid_to is None
    assert {row.orders for row in history} == {len(orders)}


def test_dim_date_covers_order_dates_beyond_the_source_calendar(
    spark: SparkSession, run_pipeline: RunPipeline, tmp_path: Path
) -> None:
    path = seeded_source(
        tmp_path / "year-end.db",
        SeedConfig(start=dt.date(2023, 12, 25), days=24, restaurants=3, orders_per_day=60.0, seed=3),
    )
    settings = Settings(source_url=sqlite_url(path), lake=str(tmp_path / "lake"), chunk_rows=1000)
    assert run_pipeline(settings).status == "succeeded"
    days = {row.date_key: row for row in _table(spark, settings, "dim_date").collect()}
    assert (
        days[dt.date(2023, 12, 25)].source == "source"
        and days[dt.date(2023, 12, 25)].holiday_name == "Christmas Day"
    )
    assert days[dt.date(2024, 1, 1)].source == "generated"
    assert days[dt.date(2024, 1, 1)].holiday_name == "New Year's Day" and days[dt.date(2024, 1, 1)].is_holiday
    assert days[dt.date(2024, 1, 15)].holiday_name == "Martin Luther King Jr. Day"
    assert days[dt.date(2024, 1, 6)].is_weekend and days[dt.date(2024, 1, 6)].day_of_week == "Saturday"
    assert not days[dt.date(2024, 1, 9)].is_holiday
    assert max(days) >= dt.date(2024, 1, 17)


def test_a_run_killed_before_its_commit_publishes_nothing_and_the_rerun_completes(
    spark: SparkSession,
    run_pipeline: RunPipeline,
    settings: Settings,
    source_engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_pipeline(only=("ingest",)).status == "succeeded"

    publish = SilverStore.publish

    def killed(self: SilverStore, table: str, *args: Any, **kwargs: Any) -> Any:
        if table == "fct_order":
            raise KeyboardInterrupt("killed while committing the last table")
        return publish(self, table, *args, **kwargs)

    monkeypatch.setattr(SilverStore, "publish", killed)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(only=("silver",))
    # The tables committed before the kill are not published: no run's record names them.
    assert _store(settings).state() == SilverState()
    silver = Lake.from_settings(settings).silver
    assert silver.list_keys("fct_order/data"), "fct_order's files were written aside"
    monkeypatch.undo()

    rerun = run_pipeline(only=("silver",))
    assert rerun.status == "succeeded", rerun.error
    assert _store(settings).state().run_id == rerun.run_id
    # The dead run's files that no commit took are gone.
    assert {key.split("/")[2] for key in silver.list_keys("fct_order/data")} == {f"run_id={rerun.run_id}"}
    assert _table(spark, settings, "fct_order_line").count() == _sql(
        source_engine, KEPT_LINES + "SELECT count(*) FROM lines"
    )


def test_a_line_that_moves_to_another_day_or_is_voided_is_never_counted_twice(
    spark: SparkSession, run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    assert run_pipeline().status == "succeeded"
    with source_engine.begin() as connection:
        moved, voided = [
            row[0]
            for row in connection.exec_driver_sql(
                "SELECT order_id FROM order_items WHERE date(creation_time_utc) = '2023-01-30'"
                " AND app_name NOT LIKE '%DEVELOPMENT%' AND item_quantity > 0 AND lineitem_id IS NOT NULL"
                " GROUP BY order_id ORDER BY order_id LIMIT 2"
            )
        ]
        # Corrections the lookback window re-reads: an order re-stamped a day earlier, a line voided.
        connection.exec_driver_sql(
            f"UPDATE order_items SET creation_time_utc = datetime(creation_time_utc, '-1 day') WHERE order_id = '{moved}'"
        )
        connection.exec_driver_sql(f"UPDATE order_items SET item_quantity = 0 WHERE order_id = '{voided}'")
    second = run_pipeline()
    assert second.status == "succeeded", second.error
    orders = _table(spark, settings, "fct_order")
    assert orders.count() == orders.select("order_id").distinct().count()
    assert orders.count() == _sql(source_engine, KEPT_LINES + "SELECT count(DISTINCT order_id) FROM lines")
    assert [row.order_date for row in orders.where(f"order_id = '{moved}'").collect()] == [
        dt.date(2023, 1, 29)
    ]
    assert orders.where(f"order_id = '{voided}'").count() == 0
    lines = _table(spark, settings, "fct_order_line")
    assert lines.count() == _sql(source_engine, KEPT_LINES + "SELECT count(*) FROM lines")
    options = second.jobs[1].details["reconciliation"]["order_item_options"]
    assert options["duplicates"] > 0  # the window's options, already published, are not kept twice


def _orders(spark: SparkSession, ids: list[str]) -> DataFrame:
    return spark.createDataFrame([(order_id,) for order_id in ids], "order_id string")


def test_the_nothing_lost_check_names_an_order_published_in_two_partitions(spark: SparkSession) -> None:
    lines = _orders(spark, ["o1", "o2"])
    # o2 is rebuilt by this run and still stands in a partition the run does not touch.
    with pytest.raises(UserError, match=r"1 orders stand in more than one partition"):
        steps.check_nothing_lost(
            lines, None, (2, 0), _orders(spark, ["o2"]), _orders(spark, ["o1", "o2", "o3"])
        )
    steps.check_nothing_lost(lines, None, (2, 0), _orders(spark, ["o2"]), _orders(spark, ["o1", "o3"]))
    steps.check_nothing_lost(lines, None, (2, 0), _orders(spark, ["o2"]), None)


def test_the_nothing_lost_check_names_lines_and_options_lost_or_doubled(spark: SparkSession) -> None:
    kept = _orders(spark, ["o1", "o2", "o3"])
    with pytest.raises(UserError, match=r"fct_order_line has 2 rows for 3 kept lines"):
        steps.check_nothing_lost(kept, None, (2, 0), _orders(spark, []), None)
    with pytest.raises(UserError, match=r"fct_order_option has 4 rows for 3 kept options"):
        steps.check_nothing_lost(kept, kept, (3, 4), _orders(spark, []), None)
    with pytest.raises(UserError, match=r"fct_order_option has 1 rows for 0 kept options"):
        steps.check_nothing_lost(kept, None, (3, 1), _orders(spark, []), None)
