"""Data health: how fresh Gold is, how the last runs went, and what Silver kept and quarantined."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import streamlit as st

from bi_contracts.quality import QUARANTINE_RULES
from bi_dashboard import components as ui
from bi_dashboard import session
from bi_metrics.labels import day_text


def ago(hours: float | None) -> str:
    """How long ago, in the unit a person would say it."""
    if hours is None:
        return "Never"
    if hours < 1:
        return f"{round(hours * 60)} min ago"
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


def _when(iso: object) -> str:
    if not isinstance(iso, str):
        return "—"
    moment = dt.datetime.fromisoformat(iso).astimezone(dt.UTC)
    return f"{day_text(moment.date())} {moment:%H:%M} UTC"


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float) or pd.isna(seconds):
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def size_text(size: object) -> str:
    """A file size as a person reads it: 22.1 MB, not 22109404."""
    if not isinstance(size, int | float) or pd.isna(size):
        return "—"
    if size < 1000:
        return f"{size:,.0f} bytes"
    units = ("kB", "MB", "GB")
    power = min(len(units), int(math.log10(size)) // 3)
    return f"{size / 1000**power:,.1f} {units[power - 1]}"


def render() -> None:
    status = session.status()
    st.title("Data health")
    st.caption(f"Lake: {status['lake']}")
    if status["gold"]:
        _gold(status["gold"])
    if session.access().restricted:
        if status["gold"]:
            # Row counts, runs and quarantines are of the whole business, not of some restaurants.
            st.info(
                "The lake's row counts, runs and quarantines span every restaurant: they are shown to "
                "readers of every restaurant only."
            )
        return
    if status["gold"]:
        _gold_tables(status["gold"])
    _runs(status["runs"])
    if status["silver"]:
        _reconciliation(status["silver"])
    _bronze(status["bronze_tables"])


def _bronze(tables: list[dict[str, Any]]) -> None:
    st.subheader("Bronze tables")
    bronze = pd.DataFrame(tables)
    if bronze.empty:
        st.info("Nothing has been extracted into this lake yet.")
        return
    # When, and how long ago, in words; the hours alone read as a data dump.
    bronze["last_extracted_at"] = [_when(v) for v in bronze["last_extracted_at"]]
    bronze["age_hours"] = [
        ago(v) if isinstance(v, int | float) and not pd.isna(v) else "—" for v in bronze["age_hours"]
    ]
    bronze["bytes"] = [size_text(v) for v in bronze["bytes"]]
    ui.frame_table(bronze.rename(columns={"age_hours": "age", "bytes": "size"}), {})


def _gold(gold: dict[str, Any]) -> None:
    st.subheader("Gold")
    cols = st.columns(3)
    cols[0].metric("Published", ago(gold["age_hours"]), help=f"at {gold['committed_at']}")
    snapshot = gold["snapshot_date"]
    cols[1].metric("Data up to", day_text(dt.date.fromisoformat(snapshot)) if snapshot else "No orders")
    cols[2].metric("Datasets", f"{len(gold['datasets']):,}")
    st.caption(f"Gold run {gold['run_id']}, built from Silver run {gold['silver_run_id']}.")


def _gold_tables(gold: dict[str, Any]) -> None:
    datasets = pd.DataFrame(gold["datasets"])
    datasets["snapshot_at"] = [_when(v) for v in datasets["snapshot_at"]]
    ui.frame_table(datasets, {})
    st.subheader("Gold runs kept")
    st.caption(
        "Each dataset is an Iceberg table; these runs' snapshots are kept, so a report can be "
        "reproduced as any of them published it (`bi query ... --as-of RUN_ID`)."
    )
    kept = pd.DataFrame(gold["kept_runs"])
    kept["committed_at"] = [_when(v) for v in kept["committed_at"]]
    kept["snapshot_date"] = [
        day_text(dt.date.fromisoformat(v)) if isinstance(v, str) else "—" for v in kept["snapshot_date"]
    ]
    ui.frame_table(kept.rename(columns={"snapshot_date": "data_up_to"}), {})


def _runs(recorded: list[dict[str, Any]]) -> None:
    st.subheader("Last runs")
    runs = pd.DataFrame(recorded)
    if runs.empty:
        st.info("No run has been recorded in this lake.")
        return
    runs["started_at"] = [_when(v) for v in runs["started_at"]]
    runs["seconds"] = [_duration(v) for v in runs["seconds"]]
    # Each job's status is in the run's status and error; the list would not fit a laptop's width,
    # nor would the code version beside it (bi status shows it).
    runs = runs.rename(columns={"seconds": "duration"}).drop(
        columns=["jobs", "code_version"], errors="ignore"
    )
    failed = runs[runs["status"] != "succeeded"]
    if not failed.empty:
        st.warning(f"{len(failed)} of the last {len(runs)} runs did not succeed: see their error below.")
    ui.frame_table(runs, {}, rows_said="runs")


def _reconciliation(silver: dict[str, Any]) -> None:
    reconciliation = silver["reconciliation"]
    st.subheader(f"Silver reconciliation of run {silver['run_id']}")
    st.caption("Every row read is kept or quarantined with its reason: rows in = kept + quarantined.")
    ui.frame_table(
        pd.DataFrame(
            [
                {"table": table, **{k: v for k, v in counts.items() if not isinstance(v, dict)}}
                for table, counts in reconciliation.items()
            ]
        ),
        {},
    )
    reasons = [
        _reason(table, reason, rows)
        for table, counts in reconciliation.items()
        for reason, rows in counts.get("quarantined_by_reason", {}).items()
    ]
    st.subheader("Quarantined rows by reason")
    if reasons:
        ui.frame_table(pd.DataFrame(reasons), {})
    else:
        st.info("The last Silver run quarantined no rows.")


def _reason(table: str, reason: str, rows: int) -> dict[str, Any]:
    """A quarantine count in words: the rule's reason and what it catches, as Silver declares them."""
    rule = QUARANTINE_RULES.get((table, reason))
    return {
        "table": table,
        "reason": rule.label if rule else reason,
        # The declarations are written for docs/metrics.md: a table cell shows no Markdown.
        "what it catches": rule.catches.replace("`", "") if rule else "",
        "rows": rows,
    }


ui.run_page(render)
