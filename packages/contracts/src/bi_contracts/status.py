"""What the lake holds and how its last runs went, gathered from the lake alone (Bronze's manifests, the
run reports, Silver's and Gold's records): `bi status` prints it and the dashboard's Data health page
shows it. Neither Spark nor DuckDB is needed to read it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bi_contracts.published import history, published
from bi_contracts.silver import silver_record
from bi_lake.layout import Lake
from bi_lake.manifests import Watermarks, load_manifests
from bi_lake.runs import load_run_reports, utc_now
from bi_lake.settings import Settings
from bi_lake.tables import GOLD, RUN_ID_PROPERTY, SILVER, LayerTables, layer_tables


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def lake_status(lake: Lake, settings: Settings, runs: int = 10) -> dict[str, Any]:
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
                "code_version": report.code_version,
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
        "silver": _silver_status(layer_tables(settings, SILVER, lake.silver)),
        "gold": _gold_status(layer_tables(settings, GOLD, lake.gold), now),
    }


def _silver_status(silver: LayerTables) -> dict[str, Any]:
    """The last committed Silver run and its reconciliation, from the record its last commit carries."""
    record = silver_record(silver)
    if record.run_id is None:
        return {}
    return {
        "run_id": record.run_id,
        "committed_at": _iso(record.committed_at),
        "reconciliation": record.reconciliation,
    }


def _gold_status(gold: LayerTables, now: dt.datetime) -> dict[str, Any]:
    """What Gold publishes: its version, snapshot date, freshness, each dataset's Iceberg snapshot, and
    the Gold runs whose snapshots are kept (what `--as-of` can go back to)."""
    state = published(gold)
    if state.run_id is None:
        return {}
    committed = state.committed_at
    datasets = []
    for name, entry in state.datasets.items():
        table = gold.load(name)
        snapshot = table.snapshot_by_id(entry.snapshot_id) if table is not None else None
        summary = snapshot.summary if snapshot is not None else None
        datasets.append(
            {
                "dataset": name,
                "rows": entry.rows,
                "files": int(summary.get("total-data-files") or 0) if summary else None,
                "snapshot_id": str(entry.snapshot_id),  # an identifier, not a quantity
                "snapshot_at": _iso(_moment(snapshot.timestamp_ms)) if snapshot else None,
                "committed_by_run": summary.get(RUN_ID_PROPERTY) if summary else None,
            }
        )
    return {
        "run_id": state.run_id,
        "committed_at": _iso(committed),
        "age_hours": round((now - committed).total_seconds() / 3600, 1) if committed else None,
        "snapshot_date": state.snapshot_date.isoformat() if state.snapshot_date else None,
        "silver_run_id": state.silver_run_id,
        "code_version": state.code_version,
        "datasets": datasets,
        "kept_runs": [
            {
                "run_id": record.run_id,
                "committed_at": _iso(record.committed_at),
                "snapshot_date": record.snapshot_date.isoformat() if record.snapshot_date else None,
            }
            for record in history(gold)
        ],
    }


def _moment(timestamp_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp_ms / 1000, dt.UTC)
