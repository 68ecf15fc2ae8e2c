"""Run identity and the run report saved under `<lake>/_runs/`."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any, Literal

from pydantic import BaseModel, Field

from bi_lake.layout import RUNS_PREFIX, run_report_key
from bi_lake.storage import Storage

JobStatus = Literal["succeeded", "failed", "skipped"]
RunStatus = Literal["running", "succeeded", "failed"]


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

    def save(self, storage: Storage) -> None:
        storage.write_bytes(run_report_key(self.run_id), self.model_dump_json(indent=2).encode())


def load_run_reports(storage: Storage, limit: int | None = None) -> list[RunReport]:
    """Saved run reports, newest first."""
    keys = [key for key in storage.list_keys(RUNS_PREFIX) if key.endswith(".json")]
    keys.sort(reverse=True)
    if limit is not None:
        keys = keys[:limit]
    return [RunReport.model_validate(json.loads(storage.read_bytes(key))) for key in keys]
