"""Crash safety: the whole `bi run` process group, Spark's JVM included, killed with SIGKILL while each
job writes and between jobs. The next `bi run` takes the dead run's lock over with a message and leaves a
lake equal to that of an uninterrupted run: no row doubled or lost, the watermarks where they would be."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bi_contracts.published import gold_tables, published
from bi_contracts.status import lake_status
from bi_lake.layout import Lake
from bi_lake.manifests import Watermarks
from bi_lake.settings import Settings
from bi_lake.storage import LocalStorage
from bi_lake.workflow import SilentProgress
from bi_source.config import SeedConfig
from bi_transform.silver.job import open_store
from bi_transform.silver.store import QUARANTINE_PREFIX
from tests.conftest import gold_contents, seeded_source, silver_contents, sqlite_url
from tests.running import run_pipeline

pytestmark = [pytest.mark.spark, pytest.mark.e2e, pytest.mark.filterwarnings("ignore::ResourceWarning")]

# Two weeks: every job does all of its kinds of work, in little time. Small chunks make ingest write
# many files, so a kill lands among them rather than after the last.
CRASH_SOURCE = SeedConfig(start=dt.date(2023, 3, 1), days=14, restaurants=3, orders_per_day=60.0, seed=5)
CHUNK_ROWS = 200
LINEAGE = frozenset({"_silver_run_id", "_run_id", "_extracted_at", "extracted_at", "ingest_run_id", "run_id"})


def _run_report_jobs(lake: Path) -> dict[str, str]:
    jobs: dict[str, str] = {}
    for report in (lake / "_runs").glob("*.json"):
        try:
            jobs |= {job["job"]: job["status"] for job in json.loads(report.read_text())["jobs"]}
        except (ValueError, KeyError, OSError):
            continue  # being replaced right now; looked at again on the next poll
    return jobs


def _has_file(lake: Path, pattern: str) -> bool:
    return next(lake.glob(pattern), None) is not None


def _silver_published(lake: Path) -> bool:
    """Whether a Silver run has committed whole: its last commit carries the run's record."""
    return open_store(Settings(lake=str(lake))).state().run_id is not None


def _gold_published(lake: Path) -> bool:
    """Whether a Gold run has committed whole: its last commit carries the run's record."""
    return published(gold_tables(Settings(lake=str(lake)))).run_id is not None


@dataclass(frozen=True)
class FaultPoint:
    name: str
    # Whether the run has reached this point, from what it has written to the lake so far.
    reached: Callable[[Path], bool]
    # After the kill: the commit the point lies before did not happen (so the kill was where intended).
    before_commit: Callable[[Path], bool]
    spark: bool


FAULT_POINTS = [
    FaultPoint(
        "ingest writing Bronze",
        lambda lake: _has_file(lake, "bronze/order_items/ingest_date=*/run_id=*/*.parquet"),
        lambda lake: not _has_file(lake, "bronze/_manifests/*.json"),
        spark=False,
    ),
    FaultPoint(
        "between ingest and silver",
        lambda lake: _run_report_jobs(lake).get("ingest") == "succeeded",
        lambda lake: not _silver_published(lake),
        spark=False,
    ),
    FaultPoint(
        "silver writing its tables",
        lambda lake: _has_file(lake, "silver/fct_order*/data/**/*.parquet"),
        lambda lake: not _silver_published(lake),
        spark=True,
    ),
    FaultPoint(
        "between silver and gold",
        lambda lake: _run_report_jobs(lake).get("silver") == "succeeded",
        lambda lake: not _gold_published(lake),
        spark=True,
    ),
    FaultPoint(
        "gold writing its datasets",
        lambda lake: _has_file(lake, "gold/agg_*/data/**/*.parquet"),
        lambda lake: not _gold_published(lake),
        spark=True,
    ),
]


def _environment(settings: Settings) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BI_", "AWS_"))}
    return clean | {
        "BI_SOURCE_URL": settings.source_url,
        "BI_LAKE": settings.lake,
        "BI_CHUNK_ROWS": str(CHUNK_ROWS),
    }


def _group_members(group: int) -> list[str]:
    """The command lines of the live processes in a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(cmdline)
    return members


def _start_run(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`bi run` in a process group of its own (as a terminal's foreground job), stderr to `log`."""
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bi_cli.main", "run"], env=_environment(settings),
            stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
        )  # fmt: skip


def _wait_for(
    point: FaultPoint, run: subprocess.Popen[bytes], settings: Settings, log: Path, timeout_s: float = 600
) -> None:
    deadline = time.monotonic() + timeout_s
    while not point.reached(Path(settings.lake)):
        if run.poll() is not None:
            pytest.fail(f"the run ended before {point.name}: {log.read_text()}")
        assert time.monotonic() < deadline, f"the run never reached {point.name}"
        time.sleep(0.01)


def _kill_at(point: FaultPoint, settings: Settings, timeout_s: float = 600) -> list[str]:
    """Start `bi run` in its own process group, SIGKILL the group when it reaches `point`; the killed
    group's command lines."""
    log = Path(settings.lake).parent / "killed-run.log"
    run = _start_run(settings, log)
    try:
        _wait_for(point, run, settings, log, timeout_s)
        killed = _group_members(run.pid)
    finally:
        # Whatever happened above, nothing of the run outlives the test.
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    # Orphaned members are reaped by init: give it a moment, then nothing of the run may be left.
    deadline = time.monotonic() + 10
    while _group_members(run.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_members(run.pid), "a process of the killed run survived"
    return killed


def _quarantine(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """The committed runs' quarantined rows per table, lineage aside, as sorted distinct rows."""
    runs = open_store(settings).state().silver_runs
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table_folder in sorted((Path(settings.lake) / "silver" / QUARANTINE_PREFIX).glob("*")):
        files = [str(f) for run in runs for f in (table_folder / f"run_id={run}").glob("*.parquet")]
        if files:
            relation = duckdb.read_parquet(files, hive_partitioning=False)
            columns = [c for c in relation.columns if c not in LINEAGE]
            tables[table_folder.name] = relation.select(*columns).distinct().order("ALL").fetchall()
    return tables


class RecordedProgress(SilentProgress):
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _lake_from(source_file: Path, folder: Path) -> Settings:
    folder.mkdir()
    shutil.copy(source_file, folder / "source.db")
    return Settings(
        source_url=sqlite_url(folder / "source.db"), lake=str(folder / "lake"), chunk_rows=CHUNK_ROWS
    )


@pytest.fixture(scope="module")
def crash_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_source(tmp_path_factory.mktemp("crash") / "source.db", CRASH_SOURCE)


@pytest.fixture(scope="module")
def uninterrupted(crash_source: Path, tmp_path_factory: pytest.TempPathFactory, spark: object) -> Settings:
    settings = _lake_from(crash_source, tmp_path_factory.mktemp("uninterrupted") / "run")
    report = run_pipeline(settings)
    assert report.status == "succeeded", report.error
    return settings


@pytest.mark.parametrize("point", FAULT_POINTS, ids=[p.name.replace(" ", "-") for p in FAULT_POINTS])
def test_a_run_killed_there_is_completed_by_the_next_with_nothing_lost_or_doubled(
    point: FaultPoint, uninterrupted: Settings, crash_source: Path, tmp_path: Path
) -> None:
    settings = _lake_from(crash_source, tmp_path / "crashed")
    killed = _kill_at(point, settings)
    lake = Path(settings.lake)
    assert point.before_commit(lake), f"the kill came after the commit {point.name} lies before"
    if point.spark:
        assert any("java" in member for member in killed), "Spark's JVM was not among the killed processes"
    dead_run = json.loads((lake / "_lock.json").read_text())["run_id"]

    # What was committed before the kill stays readable.
    lake_of = Lake.from_settings(settings)
    assert lake_status(lake_of, settings)["runs"]

    # The next run, in this process (its Spark session is already up), as `bi run` runs it.
    progress = RecordedProgress()
    rerun = run_pipeline(settings, progress)
    assert rerun.status == "succeeded", rerun.error
    assert any(
        f"took over a stale lock from run {dead_run}" in w and "is no longer running" in w
        for w in progress.warnings
    ), progress.warnings
    assert not (lake / "_lock.json").exists()

    assert silver_contents(settings) == silver_contents(uninterrupted)
    assert _quarantine(settings) == _quarantine(uninterrupted)
    assert gold_contents(settings) == gold_contents(uninterrupted)
    cursors = {t: w.cursor_value for t, w in Watermarks.load(LocalStorage(lake / "bronze")).tables.items()}
    expected = Watermarks.load(LocalStorage(Path(uninterrupted.lake) / "bronze")).tables
    assert cursors == {t: w.cursor_value for t, w in expected.items()}
    # The rerun's own books balance: every row it read is kept, a recorded duplicate or quarantined.
    silver_job = next(job for job in rerun.jobs if job.job == "silver")
    for table in silver_job.tables:
        assert table.rows_in == table.rows_out + table.duplicates + table.quarantined, table


INTERRUPTED_AT = [p for p in FAULT_POINTS if p.name in ("ingest writing Bronze", "silver writing its tables")]


@pytest.mark.parametrize("point", INTERRUPTED_AT, ids=[p.name.replace(" ", "-") for p in INTERRUPTED_AT])
def test_ctrl_c_there_ends_in_one_line_records_the_run_as_interrupted_and_releases_the_lock(
    point: FaultPoint, uninterrupted: Settings, crash_source: Path, tmp_path: Path
) -> None:
    settings = _lake_from(crash_source, tmp_path / "interrupted")
    lake = Path(settings.lake)
    log = lake.parent / "interrupted-run.log"
    run = _start_run(settings, log)
    try:
        _wait_for(point, run, settings, log)
        # As a terminal's Ctrl-C: SIGINT to the whole foreground group, Spark's JVM included.
        os.killpg(run.pid, signal.SIGINT)
        code = run.wait(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    said = log.read_text()
    assert code == 130, said
    assert said.strip().splitlines()[-1] == "bi: interrupted", said
    for noise in ("Traceback", "py4j", "Py4J", "ERROR"):
        assert noise not in said, said
    job = point.name.split()[0]
    reports = [json.loads(r.read_text()) for r in (lake / "_runs").glob("*.json")]
    assert [(r["status"], r["error"]) for r in reports] == [("interrupted", f"{job}: interrupted")]
    assert not (lake / "_lock.json").exists(), "the lock is released"

    # Nothing is lost: the next run starts at once (no lock to take over) and ends as an uninterrupted one.
    progress = RecordedProgress()
    rerun = run_pipeline(settings, progress)
    assert rerun.status == "succeeded", rerun.error
    assert not progress.warnings
    assert silver_contents(settings) == silver_contents(uninterrupted)
    assert gold_contents(settings) == gold_contents(uninterrupted)
