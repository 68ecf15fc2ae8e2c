"""The dashboard's prepared DuckDB connections: each visitor gets a database of its own, opened
before they asked for it."""

from __future__ import annotations

import threading

import duckdb
import pytest

from bi_metrics.duckdb_extensions import PreparedConnections, connect


def _loaded(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute("SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()
    return {row[0] for row in rows}


class RecordedOpener:
    """`connect`, noting which thread opened each connection."""

    def __init__(self) -> None:
        self.opened_in: dict[int, str] = {}

    def __call__(self, on_s3: bool) -> duckdb.DuckDBPyConnection:
        connection = connect(on_s3)
        self.opened_in[id(connection)] = threading.current_thread().name
        return connection


def test_the_next_connection_is_opened_in_the_background_before_it_is_taken() -> None:
    opener = RecordedOpener()
    prepared = PreparedConnections(opener)
    first = prepared.take(False)
    second = prepared.take(False)
    # The first visitor waits for theirs; the second gets the one prepared meanwhile.
    assert opener.opened_in[id(first)] == threading.current_thread().name
    assert opener.opened_in[id(second)].startswith("duckdb-prepare")
    assert {"avro", "iceberg"} <= _loaded(first) and {"avro", "iceberg"} <= _loaded(second)


def test_each_connection_taken_is_a_database_of_its_own() -> None:
    prepared = PreparedConnections()
    first = prepared.take(False)
    first.execute("CREATE VIEW only_here AS SELECT 1 AS one")
    second = prepared.take(False)
    # One session's views (a restricted reader's hold only their restaurants' rows) are never another's.
    with pytest.raises(duckdb.CatalogException):
        second.execute("SELECT * FROM only_here")


def test_a_connection_for_s3_is_prepared_apart_and_reads_over_https() -> None:
    prepared = PreparedConnections()
    local, on_s3, again = prepared.take(False), prepared.take(True), prepared.take(True)
    assert "httpfs" not in _loaded(local)
    assert "httpfs" in _loaded(on_s3) and "httpfs" in _loaded(again)
