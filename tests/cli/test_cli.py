"""The `bi` command line as a user meets it: real processes, one-line errors, exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from bi_lake.lock import LakeLock
from bi_lake.storage import LocalStorage
from bi_lake.version import code_version
from tests.running import assert_one_line_error, bi

# Every test here starts `bi` as a process.
pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("args", "env", "fragments"),
    [
        (["run", "--source", "sqlite:///missing.db"], {}, ["source database missing.db does not exist"]),
        (["run"], {"BI_CHUNK_ROWS": "many"}, ["chunk_rows (BI_CHUNK_ROWS)"]),
        (["run", "--only", "ingest,nope"], {}, ["unknown job 'nope'", "jobs are: ingest"]),
        (["run", "--start", "2023-02-30"], {}, ["invalid date '2023-02-30'"]),
        (["run", "--start", "2023-03-01", "--end", "2023-02-01"], {}, ["is after --end"]),
        (["run", "--lake", "ftp://host/lake"], {}, ["lake (BI_LAKE)", "unsupported scheme"]),
        (["run", "--source", "nosuchdialect://x/y"], {}, ["cannot use source nosuchdialect://x/y"]),
        (
            ["run", "--source", "mssql+pymssql://loader:s3cret@127.0.0.1:1/orders"],
            {},
            ["cannot reach source mssql+pymssql://loader:***@127.0.0.1:1/orders"],
        ),
        (["seed", "--days", "0"], {}, ["0 must be greater than zero"]),
        (["seed", "--add-days", "2", "--source", "sqlite:///none.db"], {}, ["none.db does not exist"]),
        (["status", "--format", "xml"], {}, ["invalid choice: 'xml'"]),
        (["dashboard", "--port", "70000"], {}, ["port 70000 is not between 1 and 65535"]),
        (["dashboard", "--port", "http"], {}, ["invalid port 'http'"]),
        (["dashboard", "--lake", "ftp://host/lake"], {}, ["lake (BI_LAKE)", "unsupported scheme"]),
        (["dance"], {}, ["invalid choice: 'dance'"]),
        ([], {}, ["required: COMMAND"]),
    ],
)
def test_user_errors_are_one_line_and_non_zero(
    tmp_path: Path, args: list[str], env: dict[str, str], fragments: list[str]
) -> None:
    result = bi(*args, cwd=tmp_path, env=env)
    assert_one_line_error(result, *fragments)
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "--lake", "afile"], "afile is a file, not a folder"),
        (["run", "--lake", "afile/lake"], "afile is a file, not a folder (for "),
        (["query", "orders", "--lake", "afile"], "afile is a file, not a folder"),
        (["status", "--lake", "afile"], "afile is a file, not a folder"),
        (["dashboard", "--lake", "afile"], "afile is a file, not a folder"),
        (["run", "--lake", "/proc/no-lake-here"], "cannot create /proc/no-lake-here"),
        (["seed", "--source", "sqlite:///afile/source.db"], "source database afile/source.db: "),
        (["seed", "--source", "sqlite:///."], "is a folder, not a file"),
    ],
)
def test_a_place_that_cannot_hold_the_lake_or_the_source_is_one_line(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    (tmp_path / "afile").write_text("not a lake")
    result = bi(*args, cwd=tmp_path, timeout=120)
    assert_one_line_error(result, fragment)
    assert (tmp_path / "afile").read_text() == "not a lake"
    assert not (tmp_path / ".bi").exists(), "nothing is seeded for a run that cannot write its lake"


def test_the_dashboard_refuses_a_port_in_use_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = bi("dashboard", "--port", str(port), cwd=tmp_path, timeout=60)
    assert_one_line_error(result, f"port {port} is in use", "--port")


def test_seeding_twice_is_refused_without_losing_data(tmp_path: Path) -> None:
    first = bi("seed", "--days", "3", "--restaurants", "2", "--orders-per-day", "30", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    size = (tmp_path / ".bi" / "source.db").stat().st_size
    again = bi("seed", "--days", "3", cwd=tmp_path)
    assert_one_line_error(again, "already holds data", "--add-days")
    assert (tmp_path / ".bi" / "source.db").stat().st_size == size


def test_a_second_run_on_a_locked_lake_exits_at_once(tmp_path: Path) -> None:
    seeded = bi("seed", "--days", "3", "--restaurants", "2", "--orders-per-day", "30", cwd=tmp_path)
    assert seeded.returncode == 0
    with LakeLock(LocalStorage(tmp_path / "lake"), "the-first-run"):
        result = bi("run", cwd=tmp_path, timeout=60)
    assert_one_line_error(result, "the lake is locked by run the-first-run")


def test_bi_run_on_a_fresh_checkout_seeds_the_demo_data_and_fills_the_lake(tmp_path: Path) -> None:
    """`uv run bi run` as a new user runs it: the default source, the default lake, then status."""
    result = bi("run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "creating the demo data set first" in result.stderr
    assert "succeeded" in result.stdout and "order_items" in result.stdout
    assert (tmp_path / ".bi" / "source.db").exists()
    runs = list((tmp_path / "lake" / "_runs").glob("*.json"))
    assert len(runs) == 1
    status = bi("status", "--format", "json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["runs"][0]["status"] == "succeeded"
    tables = {table["table"]: table for table in data["bronze_tables"]}
    assert 185_000 <= tables["order_items"]["rows"] <= 215_000
    assert tables["date_dim"]["rows"] == 365
    assert {mark["table"] for mark in data["watermarks"]} == set(tables)
    # The demo data's quirks, each with its outcome (docs/metrics.md, the quality rules).
    reconciliation = data["silver"]["reconciliation"]
    lines, options = reconciliation["order_items"], reconciliation["order_item_options"]
    assert lines["balanced"] and options["balanced"] and lines["extracted"] == tables["order_items"]["rows"]
    assert lines["extracted"] == lines["kept"] + lines["duplicates"] + lines["quarantined"]
    assert set(lines["quarantined_by_reason"]) == {"missing_key", "invalid_quantity", "test_data"}
    assert options["duplicates"] > 0 and options["quarantined_by_reason"]["orphan_option"] > 0
    assert {"category_unknown", "item_name_variant", "item_name_missing"} <= set(lines["repairs"])
    assert "silver" in result.stdout and "test_data" in result.stdout
    assert data["gold"]["snapshot_date"] == "2023-12-31"
    assert {d["dataset"] for d in data["gold"]["datasets"]} >= {"agg_sales_daily", "dim_customer_snapshot"}
    totals = bi("query", "orders,net_sales,customers", "--format", "json", cwd=tmp_path)
    assert totals.returncode == 0, totals.stderr
    [row] = json.loads(totals.stdout)
    assert (
        125_000 <= row["orders"] <= 131_000 and row["net_sales"] > 0 and 20_000 <= row["customers"] <= 35_000
    )

    added = bi("seed", "--add-days", "2", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    again = bi("run", "--only", "ingest", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "incremental" in again.stdout
    table_view = bi("status", cwd=tmp_path)
    assert table_view.returncode == 0 and "watermarks" in table_view.stdout
    assert "silver reconciliation" in table_view.stdout


def test_version_is_the_installed_codes(tmp_path: Path) -> None:
    result = bi("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == f"bi {code_version()}\n", result.stderr


def test_status_of_an_empty_lake_says_how_to_fill_it(tmp_path: Path) -> None:
    result = bi("status", cwd=tmp_path)
    assert result.returncode == 0
    assert "bi run" in result.stdout


def test_a_run_of_the_later_jobs_only_makes_no_demo_data(tmp_path: Path) -> None:
    """Only extraction reads the source: `--only gold` on a fresh folder seeds nothing."""
    result = bi("run", "--only", "gold", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "demo data" not in result.stderr
    assert not (tmp_path / ".bi").exists()
    assert "Silver holds no orders yet" in result.stdout
