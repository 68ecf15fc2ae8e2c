"""Ingestion end to end on real SQLite and real Parquet: counts, types, lineage, windows, failures."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from bi_lake.layout import Lake
from bi_lake.manifests import Manifest, Watermarks, load_manifests
from bi_lake.settings import Settings
from bi_source.generator import add_days
from tests.conftest import RunPipeline


def _lake(settings: Settings) -> Lake:
    return Lake.from_settings(settings)


def _manifest(settings: Settings, run_id: str) -> Manifest:
    return Manifest.model_validate_json(_lake(settings).bronze.read_bytes(f"_manifests/{run_id}.json"))


def _bronze(settings: Settings, table: str, run_id: str | None = None) -> pa.Table:
    """The rows of `table` in every committed run (or one run), read back from the Parquet files."""
    lake = _lake(settings)
    tables: list[pa.Table] = []
    for manifest in load_manifests(lake.bronze):
        if run_id is not None and manifest.run_id != run_id:
            continue
        for entry in manifest.tables:
            if entry.table == table:
                tables.extend(pq.read_table(lake.bronze.uri_of(f.key)) for f in entry.files)
    return pa.concat_tables(tables) if tables else pa.table({})


def _source_count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(sql).scalar_one())


def test_first_run_extracts_every_row_with_faithful_types_and_lineage(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    report = run_pipeline()
    assert report.status == "succeeded"
    manifest = _manifest(settings, report.run_id)
    for entry in manifest.tables:
        assert entry.rows == _source_count(source_engine, f"SELECT count(*) FROM {entry.table}")
        assert entry.mode == "full"
    lines = _bronze(settings, "order_items")
    schema = lines.schema
    assert schema.field("item_price").type == pa.decimal128(10, 2)
    assert schema.field("creation_time_utc").type == pa.timestamp("us", tz="UTC")
    assert schema.field("is_loyalty").type == pa.bool_()
    assert schema.field("item_quantity").type == pa.int32()
    assert _bronze(settings, "date_dim").schema.field("date_key").type == pa.date32()
    assert set(lines.column("_source_table").to_pylist()) == {"order_items"}
    assert set(lines.column("_run_id").to_pylist()) == {report.run_id}
    assert lines.column("_cursor_value").equals(lines.column("creation_time_utc"))
    assert lines.column("_extracted_at")[0].as_py() == report.started_at
    total = _source_count(source_engine, "SELECT CAST(sum(item_price * 100) AS INTEGER) FROM order_items")
    assert sum(lines.column("item_price").to_pylist(), Decimal(0)) == Decimal(total) / 100
    options = _bronze(settings, "order_item_options")
    assert options.column("_cursor_value").null_count == options.num_rows


def test_the_manifest_describes_every_file_exactly(run_pipeline: RunPipeline, settings: Settings) -> None:
    report = run_pipeline()
    manifest = _manifest(settings, report.run_id)
    bronze = _lake(settings).bronze
    for entry in manifest.tables:
        assert entry.files, entry.table
        assert (
            entry.partition == f"{entry.table}/ingest_date={report.started_at.date()}/run_id={report.run_id}"
        )
        for file in entry.files:
            data = bronze.read_bytes(file.key)
            assert hashlib.sha256(data).hexdigest() == file.sha256
            assert len(data) == file.bytes
            assert pq.ParquetFile(bronze.uri_of(file.key)).metadata.num_rows == file.rows
        assert sum(f.rows for f in entry.files) == entry.rows
        assert entry.schema_fingerprint and entry.columns
    assert manifest.source.startswith("sqlite:///")


def test_chunks_bound_what_is_held_in_memory(run_pipeline: RunPipeline, settings: Settings) -> None:
    report = run_pipeline()
    entry = next(t for t in _manifest(settings, report.run_id).tables if t.table == "order_items")
    assert entry.rows > 3 * settings.chunk_rows
    assert entry.chunks == math.ceil(entry.rows / settings.chunk_rows)
    metadata = pq.ParquetFile(_lake(settings).bronze.uri_of(entry.files[0].key)).metadata
    assert metadata.num_row_groups == entry.chunks
    assert max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)) == settings.chunk_rows


def test_a_value_that_does_not_fit_its_column_fails_in_any_chunk(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    """A fraction in an integer column, far past the first chunk: refused, never cut to an integer."""
    with source_engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE order_item_options SET option_quantity = 2.5 WHERE rowid = (SELECT max(rowid) FROM order_item_options)"
        )
    report = run_pipeline()
    assert report.status == "failed" and report.error is not None
    assert "order_item_options" in report.error and "option_quantity" in report.error


def test_incremental_run_takes_new_rows_plus_the_lookback_window(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    first = run_pipeline()
    watermark = Watermarks.load(_lake(settings).bronze).tables["order_items"].cursor_value
    assert watermark is not None
    assert watermark == dt.datetime.fromisoformat(
        _source_count_text(source_engine, "SELECT max(creation_time_utc) FROM order_items")
    )
    summary = add_days(source_engine, 3, seed_value=11)
    second = run_pipeline()
    assert second.status == "succeeded"
    lower = watermark - dt.timedelta(days=3)
    expected_lines = _source_count(
        source_engine, f"SELECT count(*) FROM order_items WHERE creation_time_utc > '{lower.isoformat(' ')}'"
    )
    expected_options = _source_count(
        source_engine,
        "SELECT count(*) FROM order_item_options WHERE order_id IN (SELECT order_id FROM order_items"
        f" WHERE creation_time_utc > '{lower.isoformat(' ')}')",
    )
    manifest = {t.table: t for t in _manifest(settings, second.run_id).tables}
    assert manifest["order_items"].mode == "incremental"
    assert manifest["order_items"].rows == expected_lines
    assert manifest["order_item_options"].rows == expected_options
    assert manifest["order_items"].rows < _source_count(source_engine, "SELECT count(*) FROM order_items") / 3
    assert manifest["order_items"].watermark_before == watermark
    assert summary.late_lines > 0
    assert first.run_id != second.run_id


def _source_count_text(engine: sa.Engine, sql: str) -> str:
    with engine.connect() as connection:
        return str(connection.exec_driver_sql(sql).scalar_one())


def test_late_arrivals_inside_the_window_are_caught(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    run_pipeline()
    watermark = Watermarks.load(_lake(settings).bronze).tables["order_items"].cursor_value
    assert watermark is not None
    before = _source_count(source_engine, "SELECT max(rowid) FROM order_items")
    add_days(source_engine, 7, seed_value=3)
    with source_engine.connect() as connection:
        late_ids = {
            row[0]
            for row in connection.exec_driver_sql(
                f"SELECT lineitem_id FROM order_items WHERE rowid > {before}"
                f" AND creation_time_utc <= '{watermark.isoformat(' ')}' AND lineitem_id IS NOT NULL"
            )
        }
    assert late_ids
    second = run_pipeline()
    extracted = set(_bronze(settings, "order_items", second.run_id).column("lineitem_id").to_pylist())
    assert late_ids <= extracted


def test_a_run_without_new_rows_still_rereads_the_window_and_keeps_the_watermark(
    run_pipeline: RunPipeline, settings: Settings
) -> None:
    run_pipeline()
    before = Watermarks.load(_lake(settings).bronze).tables["order_items"].cursor_value
    again = run_pipeline()
    assert again.status == "succeeded"
    assert Watermarks.load(_lake(settings).bronze).tables["order_items"].cursor_value == before


def test_an_empty_source_is_a_recorded_successful_no_op(tmp_path: Path, run_pipeline: RunPipeline) -> None:
    from bi_source.schema import metadata

    path = tmp_path / "empty.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    settings = Settings(source_url=f"sqlite:///{path}", lake=str(tmp_path / "empty-lake"))
    report = run_pipeline(settings, only=None)  # Silver and Gold too: no rows is no failure either
    assert report.status == "succeeded", report.error
    assert [job.status for job in report.jobs] == ["succeeded", "succeeded", "succeeded"]
    manifest = _manifest(settings, report.run_id)
    assert [(t.table, t.rows, t.files) for t in manifest.tables] == [
        ("order_items", 0, []),
        ("order_item_options", 0, []),
        ("date_dim", 0, []),
        ("restaurants", 0, []),
    ]
    assert Watermarks.load(_lake(settings).bronze).tables["order_items"].cursor_value is None


def test_a_failure_mid_run_leaves_the_watermark_and_the_rerun_is_complete(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    run_pipeline()
    bronze = _lake(settings).bronze
    watermarks_before = bronze.read_bytes("_state/watermarks.json")
    add_days(source_engine, 2, seed_value=4)
    # A value the driver cannot read, in the last option rows: order lines are written by then.
    with source_engine.begin() as connection:
        last = connection.exec_driver_sql("SELECT max(rowid) FROM order_item_options").scalar_one()
        connection.exec_driver_sql(f"UPDATE order_item_options SET option_price = 'n/a' WHERE rowid = {last}")
    failed = run_pipeline()
    assert failed.status == "failed"
    assert failed.error is not None and "order_item_options" in failed.error
    assert bronze.read_bytes("_state/watermarks.json") == watermarks_before
    assert not bronze.exists(f"_manifests/{failed.run_id}.json")
    assert not [key for key in bronze.list_keys("order_items") if failed.run_id in key]
    with source_engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE order_item_options SET option_price = 1.00 WHERE rowid = {last}")
    rerun = run_pipeline()
    assert rerun.status == "succeeded"
    manifest = {t.table: t for t in _manifest(settings, rerun.run_id).tables}
    watermark = json.loads(watermarks_before)["tables"]["order_items"]["cursor_value"]
    lower = dt.datetime.fromisoformat(watermark) - dt.timedelta(days=3)
    assert manifest["order_items"].rows == _source_count(
        source_engine, f"SELECT count(*) FROM order_items WHERE creation_time_utc > '{lower.isoformat(' ')}'"
    )


def test_files_of_a_killed_run_are_swept_by_the_next(run_pipeline: RunPipeline, settings: Settings) -> None:
    bronze = _lake(settings).bronze
    orphan = "order_items/ingest_date=2023-02-01/run_id=20230201T000000Z-dead00/part-00000.parquet"
    bronze.write_bytes(orphan, b"half a file")
    report = run_pipeline()
    assert not bronze.exists(orphan)
    assert report.jobs[0].details["removed_partitions"] == [orphan.rsplit("/", 1)[0]]


def test_a_range_reextracts_only_its_days_and_moves_no_watermark(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    run_pipeline()
    before = Watermarks.load(_lake(settings).bronze).tables["order_items"].cursor_value
    report = run_pipeline(start=dt.date(2023, 1, 10), end=dt.date(2023, 1, 12))
    lines = _bronze(settings, "order_items", report.run_id)
    days = {value.date() for value in lines.column("creation_time_utc").to_pylist()}
    assert days == {dt.date(2023, 1, 10), dt.date(2023, 1, 11), dt.date(2023, 1, 12)}
    assert lines.num_rows == _source_count(
        source_engine,
        "SELECT count(*) FROM order_items WHERE date(creation_time_utc) BETWEEN '2023-01-10'"
        " AND '2023-01-12'",
    )
    assert Watermarks.load(_lake(settings).bronze).tables["order_items"].cursor_value == before
    entry = next(t for t in _manifest(settings, report.run_id).tables if t.table == "order_items")
    assert entry.mode == "range" and entry.cursor_from_inclusive


def test_full_refresh_extracts_everything_again(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    run_pipeline()
    report = run_pipeline(full_refresh=True)
    entry = next(t for t in _manifest(settings, report.run_id).tables if t.table == "order_items")
    assert entry.mode == "full"
    assert entry.rows == _source_count(source_engine, "SELECT count(*) FROM order_items")


def test_a_future_timestamp_does_not_push_the_watermark_past_the_extraction(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    with source_engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE order_items SET creation_time_utc = '2099-01-01 00:00:00.000000'"
            " WHERE rowid = (SELECT max(rowid) FROM order_items)"
        )
    report = run_pipeline()
    watermark = Watermarks.load(_lake(settings).bronze).tables["order_items"].cursor_value
    assert watermark is not None and watermark <= report.started_at.replace(tzinfo=None)
    years = {value.year for value in _bronze(settings, "order_items").column("creation_time_utc").to_pylist()}
    assert 2099 in years  # extracted, for Silver to quarantine


# Schema drift (a column added, dropped or retyped, a table missing): tests/reliability/test_bad_input.py.


def test_the_run_report_records_jobs_and_counts(run_pipeline: RunPipeline, settings: Settings) -> None:
    report = run_pipeline()
    saved = json.loads(_lake(settings).root.read_bytes(f"_runs/{report.run_id}.json"))
    assert saved["status"] == "succeeded"
    ingest = saved["jobs"][0]
    assert ingest["job"] == "ingest" and ingest["status"] == "succeeded"
    assert {t["table"] for t in ingest["tables"]} == {
        "order_items",
        "order_item_options",
        "date_dim",
        "restaurants",
    }
    assert all(t["rows_in"] == t["rows_out"] > 0 for t in ingest["tables"])
    assert "absent_optional_tables" not in ingest["details"]


def test_restaurants_are_extracted_whole_every_run(run_pipeline: RunPipeline, settings: Settings) -> None:
    first = run_pipeline()
    second = run_pipeline()
    for report in (first, second):
        entry = next(t for t in _manifest(settings, report.run_id).tables if t.table == "restaurants")
        assert (entry.mode, entry.rows) == ("full", 5)
    rows = _bronze(settings, "restaurants", second.run_id)
    assert rows.schema.field("opened_on").type == pa.date32()
    assert all(name for name in rows.column("name").to_pylist())
    assert Watermarks.load(_lake(settings).bronze).tables["restaurants"].cursor_value is None


def test_a_source_without_the_restaurants_table_is_extracted_as_before(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    with source_engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE restaurants")
    report = run_pipeline()
    assert report.status == "succeeded", report.error
    manifest = _manifest(settings, report.run_id)
    assert [t.table for t in manifest.tables] == ["order_items", "order_item_options", "date_dim"]
    assert report.jobs[0].details["absent_optional_tables"] == ["restaurants"]
    assert "restaurants" not in Watermarks.load(_lake(settings).bronze).tables
    assert not _lake(settings).bronze.list_keys("restaurants/")
    # A second run without it is just as quiet.
    assert run_pipeline().status == "succeeded"


@pytest.mark.parametrize("secret", ["s3cr3t-pa55"])
def test_the_source_password_never_reaches_the_lake(tmp_path: Path, source: Path, secret: str) -> None:
    from bi_ingest.source import redact

    url = f"sqlite:///{source}"
    assert redact(f"mssql+pymssql://loader:{secret}@db.internal/orders") == (
        "mssql+pymssql://loader:***@db.internal/orders"
    )
    assert secret not in redact(f"mssql+pymssql://loader:{secret}@db.internal/orders")
    assert url == redact(url)
