"""What Gold publishes: the record of a Gold run, carried by the run's last Iceberg commit.

Iceberg commits one table at a time. The Gold job commits its datasets lookups first, then the
aggregates, and the customer snapshot last; that last commit carries the run's record in its snapshot
summary: the snapshot of every dataset as the run left it, Gold's snapshot date, and what Gold was
built from. Readers pin each dataset to the snapshot the record names, so they read one run's Gold
whole, never a run that is half committed; `--as-of` finds an earlier run's record among the
snapshots the customer table keeps.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, ValidationError

from bi_contracts.gold import CUSTOMERS
from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.settings import Settings
from bi_lake.tables import GOLD, LayerTables, layer_tables

if TYPE_CHECKING:
    from pyiceberg.table.snapshots import Snapshot

GOLD_RUN_PROPERTY = "bi.gold-run"
# The dataset committed last: its commits carry the records.
PUBLISHED_LAST = CUSTOMERS


class PublishedDataset(BaseModel):
    snapshot_id: int
    rows: int


class GoldState(BaseModel):
    """A Gold run's record: what it published and what it was built from."""

    run_id: str | None = None
    committed_at: dt.datetime | None = None
    snapshot_date: dt.date | None = None
    silver_run_id: str | None = None
    # Per month (its first day), a digest of the Silver order-date partitions it was built from: the
    # next run rebuilds the months whose digest changed.
    silver_months: dict[str, str] = Field(default_factory=dict)
    datasets: dict[str, PublishedDataset] = Field(default_factory=dict)
    # What built the datasets (declarations and builder version): when it changes, all of Gold is
    # rebuilt rather than mixing old and new months.
    definitions: str | None = None
    # The product version whose code built the run: a label, not a reason to rebuild (`definitions`
    # is that). None in records written before it was recorded.
    code_version: str | None = None


def gold_tables(settings: Settings, lake: Lake | None = None) -> LayerTables:
    return layer_tables(settings, GOLD, (lake or Lake.from_settings(settings)).gold)


def _record(snapshot: Snapshot) -> GoldState | None:
    """The record a snapshot of the customer table carries, that snapshot itself included (the record
    is written before its commit has a snapshot id)."""
    summary = snapshot.summary
    text = summary.additional_properties.get(GOLD_RUN_PROPERTY) if summary else None
    if summary is None or text is None:
        return None
    try:
        record = GoldState.model_validate_json(text)
    except ValidationError:
        # A record another version wrote: treated as no record, so Gold is rebuilt.
        return None
    rows = int(summary.get("total-records") or 0)
    record.datasets[PUBLISHED_LAST] = PublishedDataset(snapshot_id=snapshot.snapshot_id, rows=rows)
    # Published when its commit was made (the record was written just before).
    record.committed_at = dt.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, dt.UTC)
    return record


def published(tables: LayerTables, *, moved_is_missing: bool = False) -> GoldState:
    """The record of the last Gold run that committed whole; an empty record when there is none."""
    table = tables.load(PUBLISHED_LAST, moved_is_missing=moved_is_missing)
    snapshot = table.current_snapshot() if table is not None else None
    record = _record(snapshot) if snapshot is not None else None
    return record or GoldState()


def history(tables: LayerTables) -> list[GoldState]:
    """The records of the Gold runs whose snapshots are kept, newest first."""
    table = tables.load(PUBLISHED_LAST)
    if table is None:
        return []
    snapshots = sorted(table.snapshots(), key=lambda snapshot: snapshot.timestamp_ms, reverse=True)
    return [record for snapshot in snapshots if (record := _record(snapshot)) is not None]


def as_of(tables: LayerTables, moment: str) -> GoldState:
    """Gold as a run published it (`moment` is its run id) or as it stood at a time (ISO 8601, UTC
    unless it says otherwise)."""
    records = history(tables)
    named = next((record for record in records if record.run_id == moment), None)
    if named is not None:
        return named
    try:
        when = dt.datetime.fromisoformat(moment)
    except ValueError:
        kept = ", ".join(record.run_id or "" for record in records[:5]) or "none"
        raise UserError(
            f"--as-of {moment!r} is neither a kept Gold run nor a time (YYYY-MM-DD[THH:MM[:SS]]); "
            f"the latest kept runs: {kept}"
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    earlier = [r for r in records if r.committed_at is not None and r.committed_at <= when]
    if not earlier:
        oldest = min((r.committed_at for r in records if r.committed_at), default=None)
        since = f"the oldest kept is {oldest:%Y-%m-%d %H:%M:%S} UTC" if oldest else "none is kept"
        raise UserError(f"--as-of {moment}: Gold had not been published by then ({since})")
    return max(earlier, key=lambda record: record.committed_at or when)
