"""Run identity and the run report saved under `<lake>/_runs/`."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any, Literal

from pydantic import BaseModel, Field

from bi_lake.layout import RUNS_PREFIX, run_report_key, workflow_run_key
from bi_lake.storage import Storage
from bi_lake.version import code_version

JobStatus = Literal["succeeded", "failed", "skipped"]
RunStatus = Literal["running", "succeeded", "failed", "interrupted"]


def new_run_id(now: dt.datetime) -> str:
    """Sortable by start time, unique across machines: `20240101T120000Z-1a2b3c`."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TableCounts(BaseModel):
    """What one job did to one table."""

    table: str
    rows_in: int = 0
    rows_out: int = 0
    duplicates: int = 0
    quarantined: int = 0
    warnings: int = 0
    files: int = 0
    bytes: int = 0
    note: str = ""


class JobReport(BaseModel):
    job: str
    status: JobStatus
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    seconds: float = 0.0
    tables: list[TableCounts] = Field(default_factory=list)
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class RunReport(BaseModel):
    run_id: str
    status: RunStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    seconds: float = 0.0
    options: dict[str, Any] = Field(default_factory=dict)
    jobs: list[JobReport] = Field(default_factory=list)
    error: str | None = None
    # The product version whose code started the run; None in reports written before it was recorded.
    code_version: str | None = None

    def save(self, storage: Storage) -> None:
        storage.write_bytes(run_report_key(self.run_id), self.model_dump_json(indent=2).encode())


def run_id_of_workflow_run(storage: Storage, workflow_run_id: str, now: dt.datetime) -> str:
    """The run id shared by every job and attempt of one workflow run of the orchestrator.

    The first job to ask names it (an exclusive create); every later job, retry or resumed run of the
    same workflow run reads it, so their reports and their lock are one run's.
    """
    key = workflow_run_key(workflow_run_id)
    proposed = new_run_id(now)
    record = {"workflow_run_id": workflow_run_id, "run_id": proposed, "created_at": now.isoformat()}
    if storage.create_exclusive(key, json.dumps(record).encode()) is not None:
        return proposed
    return str(json.loads(storage.read_bytes(key))["run_id"])


def record_job(
    storage: Storage, run_id: str, started_at: dt.datetime, job: JobReport, jobs: list[str]
) -> RunReport:
    """Add one job's report to its run's report (a job started on its own, as on Glue).

    The run's code version is the first job's; a job run by another version names its own. A retry's
    report replaces its earlier attempt's. The run has failed when a job has, succeeded
    once every job of `jobs` has, and is running until then.
    """
    version = code_version()
    try:
        report = RunReport.model_validate_json(storage.read_bytes(run_report_key(run_id)))
    except FileNotFoundError:
        report = RunReport(run_id=run_id, status="running", started_at=started_at, code_version=version)
    if report.code_version != version:
        # A deployment between two jobs of one workflow run: the job says which code it ran.
        job = job.model_copy(update={"details": {**job.details, "code_version": version}})
    order = {name: index for index, name in enumerate(jobs)}
    report.jobs = sorted(
        [*(j for j in report.jobs if j.job != job.job), job], key=lambda j: order.get(j.job, len(order))
    )
    failed = next((j for j in report.jobs if j.status == "failed"), None)
    done = {j.job for j in report.jobs if j.status in ("succeeded", "skipped")}
    report.status = "failed" if failed else "succeeded" if done >= set(jobs) else "running"
    report.error = f"{failed.job}: {failed.error}" if failed else None
    if report.status != "running":
        report.finished_at = job.finished_at or utc_now()
        report.seconds = round((report.finished_at - report.started_at).total_seconds(), 3)
    report.save(storage)
    return report


def load_run_reports(storage: Storage, limit: int | None = None) -> list[RunReport]:
    """Saved run reports, newest first."""
    keys = [key for key in storage.list_keys(RUNS_PREFIX) if key.endswith(".json")]
    keys.sort(reverse=True)
    if limit is not None:
        keys = keys[:limit]
    return [RunReport.model_validate(json.loads(storage.read_bytes(key))) for key in keys]
