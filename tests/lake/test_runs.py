"""Run reports name the code that produced them, and reports written before they did still load."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bi_lake.layout import run_report_key
from bi_lake.runs import JobReport, RunReport, load_run_reports, record_job
from bi_lake.storage import LocalStorage
from bi_lake.version import code_version

STARTED = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
JOBS = ["ingest", "silver", "gold"]


def test_a_run_a_job_starts_records_the_code_version_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    record_job(storage, "run-1", STARTED, JobReport(job="ingest", status="succeeded"), JOBS)
    record_job(storage, "run-1", STARTED, JobReport(job="silver", status="succeeded"), JOBS)
    (report,) = load_run_reports(storage)
    assert report.code_version == code_version()
    assert all("code_version" not in job.details for job in report.jobs)


def test_a_report_from_before_versions_loads_and_a_later_job_names_its_own(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    old = {"run_id": "run-0", "status": "running", "started_at": STARTED.isoformat(), "jobs": []}
    storage.write_bytes(run_report_key("run-0"), json.dumps(old).encode())
    (loaded,) = load_run_reports(storage)
    assert loaded.code_version is None
    job = JobReport(job="ingest", status="succeeded")
    report = record_job(storage, "run-0", STARTED, job, JOBS)
    assert report.code_version is None, "the code that started the run is not known"
    assert report.jobs[0].details["code_version"] == code_version()
    assert "code_version" not in job.details, "the caller's report is left as it was"


def test_a_saved_report_keeps_its_code_version(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    RunReport(run_id="run-2", status="succeeded", started_at=STARTED, code_version="9.9.9").save(storage)
    (report,) = load_run_reports(storage)
    assert report.code_version == "9.9.9"
