"""The two readers of a SQLite source give the same Bronze columns; the Arrow reader hands over to the
row reader when a column changes kind after its first chunk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from bi_ingest.extract import bronze_array, column_plans, extraction_query
from bi_ingest.readers import Columns, MixedTypes, driver_rows, sqlite_arrow, sqlite_arrow_file
from bi_ingest.source import reflect
from bi_ingest.specs import ExtractionSpec
from bi_lake.layout import Lake
from bi_lake.manifests import Manifest
from bi_lake.settings import Settings
from tests.conftest import RunPipeline

ROWS = [
    # prices as SQLite keeps them: whole numbers as integers, others as reals, in one chunk
    (1, Decimal("12"), 3, dt.datetime(2024, 1, 1, 0, 0, 5, 316000), True, dt.date(2024, 1, 1), "Cobb Salad"),
    (2, Decimal("12.89"), 1, dt.datetime(2024, 1, 2), False, None, None),
    (3, None, None, None, None, dt.date(2024, 2, 29), "Crème brûlée ☕"),
    (4, Decimal("99999999.99"), -7, dt.datetime(2024, 12, 31, 23, 59, 59, 999999), True, None, ""),
    (5, Decimal("0.05"), 2147483647, dt.datetime(2025, 1, 1), False, dt.date(2025, 1, 1), "x"),
]


@pytest.fixture
def typed_source(tmp_path: Path) -> Iterator[tuple[Path, sa.Engine]]:
    path = tmp_path / "typed.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    table = sa.Table(
        "typed",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("price", sa.Numeric(10, 2)),
        sa.Column("quantity", sa.Integer),
        sa.Column("stamp", sa.DateTime),
        sa.Column("flag", sa.Boolean),
        sa.Column("day", sa.Date),
        sa.Column("name", sa.String(64)),
    )
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(table.insert(), [dict(zip(table.c.keys(), row, strict=True)) for row in ROWS])
    yield path, engine
    engine.dispose()


def _read_both(path: Path, engine: sa.Engine, chunk_rows: int) -> tuple[pa.Table, pa.Table]:
    with engine.connect() as connection:
        table = reflect(connection, "typed")
        plans = column_plans(table)
        query = extraction_query(ExtractionSpec(table="typed", key=("id",), mode="full"), table, None)
        names = [plan.name for plan in plans]

        def bronze(chunks: Iterator[Columns]) -> pa.Table:
            tables = [
                pa.table([bronze_array("typed", p, v) for p, v in zip(plans, c, strict=True)], names=names)
                for c in chunks
            ]
            return pa.concat_tables(tables)

        rows = bronze(driver_rows(connection, query, "typed", plans, chunk_rows))
        arrow = bronze(sqlite_arrow(path, query, "typed", plans, chunk_rows))
    return rows, arrow


def test_both_readers_give_the_same_bronze_columns(typed_source: tuple[Path, sa.Engine]) -> None:
    rows, arrow = _read_both(*typed_source, chunk_rows=len(ROWS))
    assert arrow.equals(rows)
    assert arrow.schema.field("price").type == pa.decimal128(10, 2)
    assert arrow.schema.field("stamp").type == pa.timestamp("us", tz="UTC")
    assert arrow.column("price").to_pylist() == [row[1] for row in ROWS]
    assert arrow.column("name").to_pylist() == [row[6] for row in ROWS]
    assert arrow.column("day").to_pylist() == [row[5] for row in ROWS]


def test_a_column_that_changes_kind_after_its_first_chunk_stops_the_arrow_reader(
    typed_source: tuple[Path, sa.Engine],
) -> None:
    """Chunks of two rows: the first holds whole-number prices only (integers to SQLite), the second
    a real."""
    path, engine = typed_source
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE typed SET price = 12.5 WHERE id = 3")
        connection.exec_driver_sql("UPDATE typed SET price = 7 WHERE id = 2")
    with pytest.raises(MixedTypes, match="'price'"):
        _read_both(path, engine, chunk_rows=2)


def test_the_job_reads_a_table_again_row_by_row_when_a_column_changes_kind(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    with source_engine.begin() as connection:
        # The first chunk's prices become whole numbers, which SQLite stores as integers.
        connection.exec_driver_sql(
            f"UPDATE order_items SET item_price = 12 WHERE rowid <= {settings.chunk_rows}"
        )
        expected_cents = connection.exec_driver_sql(
            "SELECT CAST(round(sum(item_price) * 100) AS INTEGER) FROM order_items"
        ).scalar_one()
    report = run_pipeline()
    assert report.status == "succeeded", report.error
    lake = Lake.from_settings(settings)
    manifest = Manifest.model_validate_json(lake.bronze.read_bytes(f"_manifests/{report.run_id}.json"))
    readers = {entry.table: entry.reader for entry in manifest.tables}
    assert readers == {
        "order_items": "driver_rows",
        "order_item_options": "sqlite_arrow",
        "date_dim": "sqlite_arrow",
        "restaurants": "sqlite_arrow",
    }
    lines = next(entry for entry in manifest.tables if entry.table == "order_items")
    prices = pa.concat_tables(pq.read_table(lake.bronze.uri_of(f.key)) for f in lines.files)["item_price"]
    assert sum(prices.to_pylist(), Decimal(0)) * 100 == expected_cents
    # Only the row reader's files are left in the partition.
    assert sorted(lake.bronze.list_keys(lines.partition or "")) == sorted(f.key for f in lines.files)


@pytest.mark.parametrize(
    ("url", "readable"),
    [
        ("sqlite:////data/source.db", True),
        ("sqlite+pysqlite:////data/source.db", True),
        # Encrypted with the password as its key: only the SQLCipher driver can open it.
        ("sqlite+pysqlcipher://:secret@//data/source.db", False),
        ("sqlite://", False),
        ("mssql+pymssql://user:secret@host/orders", False),
    ],
)
def test_the_arrow_reader_is_used_only_for_plain_sqlite_files(url: str, readable: bool) -> None:
    assert (sqlite_arrow_file(url) == Path("/data/source.db")) is readable
