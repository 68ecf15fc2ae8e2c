"""What the lake holds and how its last runs went, gathered from the lake alone: `bi status` prints it
and the dashboard's Data health page shows it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bi_lake.layout import STATE_KEY, Lake, version_run
from bi_lake.manifests import Watermarks, load_manifests
from bi_lake.runs import load_run_reports, utc_now
from bi_metrics.gold import GoldState


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def lake_status(lake: Lake, runs: int = 10) -> dict[str, Any]:
    now = utc_now()
    reports = load_run_reports(lake.root, limit=runs)
    watermarks = Watermarks.load(lake.bronze)
    bronze: dict[str, dict[str, Any]] = {}
    for manifest in load_manifests(lake.bronze):
        for entry in manifest.tables:
            if entry.status != "committed":
                continue
            table = bronze.setdefault(
                entry.table,
                {"table": entry.table, "rows": 0, "partitions": 0, "bytes": 0, "last_extracted_at": None},
            )
            table["rows"] += entry.rows
            table["partitions"] += 1 if entry.files else 0
            table["bytes"] += entry.bytes
            table["last_extracted_at"] = manifest.extracted_at
    for table in bronze.values():
        extracted = table.pop("last_extracted_at")
        table["last_extracted_at"] = _iso(extracted)
        table["age_hours"] = round((now - extracted).total_seconds() / 3600, 1) if extracted else None
    return {
        "lake": lake.root.uri,
        "runs": [
            {
                "run_id": report.run_id,
                "status": report.status,
                "started_at": _iso(report.started_at),
                "seconds": report.seconds,
                "jobs": ", ".join(f"{job.job}:{job.status}" for job in report.jobs),
                "error": report.error,
            }
            for report in reports
        ],
        "watermarks": [
            {
                "table": mark.table,
                "cursor_column": mark.cursor_column,
                "cursor_value": _iso(mark.cursor_value),
                "last_run_id": mark.last_run_id,
                "last_extracted_at": _iso(mark.last_extracted_at),
            }
            for mark in watermarks.tables.values()
        ],
        "bronze_tables": sorted(bronze.values(), key=lambda table: str(table["table"])),
        "silver": _silver_status(lake),
        "gold": _gold_status(lake, now),
    }


def _silver_status(lake: Lake) -> dict[str, Any]:
    """The last committed Silver run and its reconciliation, read from Silver's state object."""
    try:
        state = json.loads(lake.silver.read_bytes(STATE_KEY))
    except FileNotFoundError:
        return {}
    return {
        "run_id": state.get("run_id"),
        "committed_at": state.get("committed_at"),
        "tables": {name: len(entry.get("partitions", {})) for name, entry in state.get("tables", {}).items()},
        "reconciliation": state.get("reconciliation", {}),
    }


def _gold_status(lake: Lake, now: dt.datetime) -> dict[str, Any]:
    """What Gold publishes: its version, snapshot date, freshness and each dataset's size."""
    try:
        state = GoldState.model_validate_json(lake.gold.read_bytes(STATE_KEY))
    except FileNotFoundError:
        return {}
    committed = state.committed_at
    return {
        "run_id": state.run_id,
        "committed_at": _iso(committed),
        "age_hours": round((now - committed).total_seconds() / 3600, 1) if committed else None,
        "snapshot_date": state.snapshot_date.isoformat() if state.snapshot_date else None,
        "silver_run_id": state.silver_run_id,
        "datasets": [
            {
                "dataset": name,
                "rows": entry.rows,
                "partitions": len(entry.partitions),
                "files": len(entry.files),
                "latest_partition": max((p for p in entry.partitions if p), default=None),
                "rebuilt_by_run": max(
                    (run for p in entry.partitions.values() if (run := version_run(p.folder))), default=None
                ),
            }
            for name, entry in state.datasets.items()
        ],
    }
