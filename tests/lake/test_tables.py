"""Iceberg tables from declarations: commits that register and replace files, the checks before a
commit, two writers, expiry, and readers outside the product (DuckDB's `iceberg_scan`, pyiceberg)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bi_lake.errors import UserError
from bi_lake.settings import Settings
from bi_lake.storage import open_storage
from bi_lake.tables import LayerTables, Partitioning, Published, TableDeclaration, layer_tables
from bi_metrics.duckdb_extensions import connect

if TYPE_CHECKING:
    from pyiceberg.table import Table

SALES = TableDeclaration(
    name="sales",
    columns=(
        ("order_date", "date"),
        ("restaurant_id", "string"),
        ("net_sales", "decimal(28,2)"),
        ("month", "date"),
    ),
    partitioning=Partitioning(column="month", transform="identity"),
    sort_by=("order_date",),
)
ARROW = pa.schema(
    [
        ("order_date", pa.date32()),
        ("restaurant_id", pa.string()),
        ("net_sales", pa.decimal128(28, 2)),
        ("month", pa.date32()),
    ]
)
JAN, FEB = dt.date(2023, 1, 1), dt.date(2023, 2, 1)


@pytest.fixture
def tables(tmp_path: Path) -> LayerTables:
    settings = Settings(lake=str(tmp_path / "lake"))
    return layer_tables(settings, "gold", open_storage(settings.gold))


def _file(tables: LayerTables, run: str, name: str, rows: list[tuple[dt.date | None, str, str]]) -> str:
    key = f"{tables.data_prefix('sales', run)}/{name}.parquet"
    path = Path(tables.storage.uri_of(key))
    path.parent.mkdir(parents=True, exist_ok=True)
    columns: list[tuple[object, ...]] = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    pq.write_table(
        pa.table(
            [
                pa.array(columns[0], pa.date32()),
                pa.array(columns[1], pa.string()),
                pa.array([Decimal(str(v)) for v in columns[2]], pa.decimal128(28, 2)),
                pa.array(
                    [d.replace(day=1) if isinstance(d, dt.date) else None for d in columns[0]], pa.date32()
                ),
            ],
            schema=ARROW,
        ),
        path,
    )
    return f"file://{path}"


def _publish(
    tables: LayerTables,
    table: Table,
    files: list[str],
    replacing: Callable[[dt.date], bool] | None,
    properties: dict[str, str],
) -> Published:
    """A commit on the table as it stands (no dead run's commit to undo)."""
    current = table.current_snapshot()
    built_on = current.snapshot_id if current is not None else None
    return tables.publish(table, SALES, files, replacing, properties, built_on=built_on)


def _in_january(day: dt.date) -> bool:
    return day == JAN


def _duckdb_total(tables: LayerTables) -> Decimal:
    table = tables.load("sales")
    assert table is not None
    connection = connect(on_s3=False)
    total = connection.execute(
        f"SELECT coalesce(sum(net_sales), 0) FROM iceberg_scan('{table.metadata_location}')"
    ).fetchone()
    connection.close()
    assert total is not None
    return Decimal(total[0])


def _pyiceberg_total(tables: LayerTables) -> Decimal:
    table = tables.load("sales")
    assert table is not None
    return sum(table.scan().to_arrow().column("net_sales").to_pylist(), Decimal(0))


def test_a_commit_registers_files_and_replaces_only_their_partitions(tables: LayerTables) -> None:
    table, _ = tables.ensure(SALES)
    first = [
        _file(tables, "r1", "jan", [(JAN, "a", "10.50"), (dt.date(2023, 1, 20), "b", "5.25")]),
        _file(tables, "r1", "feb", [(FEB, "a", "1.00")]),
    ]
    done = _publish(tables, table, first, None, {"bi.run-id": "r1"})
    assert (done.rows, done.added_files, done.partitions) == (3, 2, frozenset({JAN, FEB}))
    assert _duckdb_total(tables) == _pyiceberg_total(tables) == Decimal("16.75")

    # January rebuilt: its old file goes, February's stays, in one snapshot.
    second = [_file(tables, "r2", "jan", [(JAN, "a", "99.00")])]
    current = tables.load("sales")
    assert current is not None
    replaced = _publish(tables, current, second, _in_january, {"bi.run-id": "r2"})
    assert (replaced.rows, replaced.removed_files) == (2, 1)
    assert _duckdb_total(tables) == _pyiceberg_total(tables) == Decimal("100.00")
    # The earlier snapshot is still there to read as it was.
    connection = connect(on_s3=False)
    latest = tables.load("sales")
    assert latest is not None
    then = connection.execute(
        f"SELECT sum(net_sales) FROM iceberg_scan('{latest.metadata_location}', "
        f"snapshot_from_id={done.snapshot_id})"
    ).fetchone()
    assert then is not None and then[0] == Decimal("16.75")
    summaries = [s.summary.additional_properties.get("bi.run-id") for s in latest.snapshots() if s.summary]
    assert summaries == ["r1", "r2"]


def test_a_file_with_no_partition_value_is_refused_and_nothing_published(tables: LayerTables) -> None:
    table, _ = tables.ensure(SALES)
    _publish(tables, table, [_file(tables, "r1", "jan", [(JAN, "a", "1.00")])], None, {})
    undated = _file(tables, "r2", "undated", [(None, "a", "2.00")])
    with pytest.raises(
        UserError,
        match=r"gold\.sales: .*undated\.parquet would register with no month \(its partition\); nothing published",
    ):
        _publish(tables, table, [undated], None, {})
    assert _pyiceberg_total(tables) == Decimal("1.00")


def test_a_file_not_as_declared_is_refused_and_nothing_published(tables: LayerTables) -> None:
    table, _ = tables.ensure(SALES)
    key = f"{tables.data_prefix('sales', 'r1')}/other.parquet"
    path = Path(tables.storage.uri_of(key))
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"order_date": pa.array([JAN], pa.date32()), "amount": [1.5]}), path)
    with pytest.raises(UserError, match=r"gold\.sales: .*other\.parquet does not match the declaration"):
        _publish(tables, table, [f"file://{path}"], None, {})
    assert tables.load("sales") is not None and _pyiceberg_total(tables) == 0


def test_the_second_of_two_writers_is_refused_and_the_first_commit_stands(tables: LayerTables) -> None:
    tables.ensure(SALES)
    mine, theirs = tables.load("sales"), tables.load("sales")
    assert mine is not None and theirs is not None
    _publish(tables, theirs, [_file(tables, "them", "jan", [(JAN, "a", "7.00")])], None, {})
    with pytest.raises(UserError, match=r"gold\.sales: another writer committed first"):
        _publish(tables, mine, [_file(tables, "me", "jan", [(JAN, "a", "9.00")])], None, {})
    assert _pyiceberg_total(tables) == Decimal("7.00")


def test_expiry_keeps_the_last_snapshots_and_removes_only_unreferenced_files(tables: LayerTables) -> None:
    table, _ = tables.ensure(SALES)
    snapshots = []
    for run in ("r1", "r2", "r3"):
        table = tables.load("sales") or table
        done = _publish(tables, table, [_file(tables, run, "jan", [(JAN, run, "1.00")])], _in_january, {})
        snapshots.append(done.snapshot_id)
        time.sleep(0.01)
    debris = _file(tables, "killed", "jan", [(JAN, "x", "5.00")])  # a dead run's unpublished file
    before = tables.load("sales")
    assert before is not None
    # Younger than the days kept: nothing expires, only the dead run's file goes.
    assert tables.expire(before, kept=1, days_kept=7) == 1
    assert not Path(debris.removeprefix("file://")).exists()
    # The last snapshot and a pinned one stay; r2's snapshot and its file go.
    removed = tables.expire(before, kept=1, days_kept=0, pinned={snapshots[0]})
    after = tables.load("sales")
    assert after is not None
    assert [s.snapshot_id for s in after.snapshots()] == [snapshots[0], snapshots[2]]
    assert removed >= 1
    parquet = sorted(p.parent.name for p in Path(tables.storage.uri).rglob("*.parquet"))
    assert parquet == ["run_id=r1", "run_id=r3"]
    assert _pyiceberg_total(tables) == Decimal("1.00")


def test_a_table_whose_declaration_changed_is_created_anew(tables: LayerTables) -> None:
    table, _ = tables.ensure(SALES)
    _publish(tables, table, [_file(tables, "r1", "jan", [(JAN, "a", "1.00")])], None, {})
    wider = TableDeclaration(
        name="sales", columns=(*SALES.columns, ("orders", "bigint")), partitioning=SALES.partitioning
    )
    recreated, created = tables.ensure(wider)
    assert created
    assert [f.name for f in recreated.schema().fields][-1] == "orders"
    assert recreated.current_snapshot() is None
    assert not list(Path(tables.storage.uri).rglob("*.parquet"))


def test_duckdb_reads_the_table_offline_with_extensions_from_wheels(tables: LayerTables) -> None:
    connection = connect(on_s3=False)
    loaded = {
        name
        for name, is_loaded in connection.execute(
            "SELECT extension_name, loaded FROM duckdb_extensions()"
        ).fetchall()
        if is_loaded
    }
    assert {"iceberg", "avro"} <= loaded and "httpfs" not in loaded
    assert isinstance(connection, duckdb.DuckDBPyConnection)


def test_a_commit_undoes_what_a_dead_run_committed_on_top_of_the_snapshot_it_built_on(
    tables: LayerTables,
) -> None:
    table, _ = tables.ensure(SALES)
    first = _publish(tables, table, [_file(tables, "r1", "jan", [(JAN, "a", "1.00")])], None, {})
    # A run that died after this commit, before its record: no reader publishes it.
    dead = tables.load("sales")
    assert dead is not None
    _publish(tables, dead, [_file(tables, "dead", "jan", [(JAN, "x", "50.00")])], _in_january, {})
    current = tables.load("sales")
    assert current is not None
    tables.publish(
        current,
        SALES,
        [_file(tables, "r2", "feb", [(FEB, "a", "2.00")])],
        lambda day: day == FEB,
        {},
        built_on=first.snapshot_id,
    )
    assert _pyiceberg_total(tables) == Decimal("3.00")


def test_a_table_registered_elsewhere_is_an_error_to_readers_and_rebuilt_by_writers(
    tables: LayerTables, tmp_path: Path
) -> None:
    table, _ = tables.ensure(SALES)
    _publish(tables, table, [_file(tables, "r1", "jan", [(JAN, "a", "1.00")])], None, {})
    moved = tmp_path / "moved"
    (tmp_path / "lake").rename(moved)
    settings = Settings(lake=str(moved))
    here = layer_tables(settings, "gold", open_storage(settings.gold))
    with pytest.raises(
        UserError, match=r"gold\.sales: a file its catalog entry names is missing .*: the lake was moved"
    ):
        here.load("sales")
    assert here.load("sales", moved_is_missing=True) is None
    rebuilt, created = here.ensure(SALES)
    assert created and rebuilt.location() == f"file://{moved}/gold/sales"


def test_what_a_lake_held_before_its_tables_were_iceberg_tables_is_removed_and_nothing_else(
    tables: LayerTables,
) -> None:
    table, _ = tables.ensure(SALES)
    _publish(tables, table, [_file(tables, "r1", "jan", [(JAN, "a", "1.00")])], None, {})
    for key in ("_state/current.json", "_athena/sales/symlink.txt", "sales/v=r0/month=2023-01-01/a.parquet"):
        tables.storage.write_bytes(key, b"old")
    tables.remove_pre_iceberg_files(["sales"])
    root = Path(tables.storage.uri)
    assert not (root / "_state" / "current.json").exists() and not (root / "_athena").exists()
    assert sorted(p.name for p in (root / "sales").iterdir()) == ["data", "metadata"]
    assert _pyiceberg_total(tables) == Decimal("1.00")
