"""The dashboard's prepared DuckDB connections: each visitor gets a database of its own, ready."""

from __future__ import annotations

import duckdb
import pytest

from bi_metrics.duckdb_extensions import PreparedConnections


def _loaded(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute("SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()
    return {row[0] for row in rows}


def test_each_connection_taken_is_its_own_database_with_the_extensions_loaded() -> None:
    prepared = PreparedConnections()
    first = prepared.take(False)
    first.execute("CREATE VIEW only_here AS SELECT 1 AS one")
    second = prepared.take(False)
    assert second is not first
    assert {"avro", "iceberg"} <= _loaded(first) and {"avro", "iceberg"} <= _loaded(second)
    # One session's views are never another's.
    with pytest.raises(duckdb.CatalogException):
        second.execute("SELECT * FROM only_here")


def test_a_connection_for_s3_is_prepared_apart_and_reads_over_https() -> None:
    prepared = PreparedConnections()
    local, on_s3, again = prepared.take(False), prepared.take(True), prepared.take(True)
    assert "httpfs" not in _loaded(local)
    assert "httpfs" in _loaded(on_s3) and "httpfs" in _loaded(again)
