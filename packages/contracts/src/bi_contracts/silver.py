"""What Silver publishes: the record of a Silver run, carried by the run's last Iceberg commit.

Silver commits its tables one at a time, the dimensions first and `fct_order` last; that last commit
carries the run's record in its snapshot summary: the Bronze runs consumed, the reconciliation, and
the snapshot of every table as the run left it. Gold reads each table at the snapshot the record
names, so it never sees a run that is half committed; `bi status` shows the record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from bi_lake.tables import SILVER_PUBLISHED_LAST, SILVER_RUN_PROPERTY, LayerTables


class SilverState(BaseModel):
    """A Silver run's record."""

    run_id: str | None = None
    committed_at: dt.datetime | None = None
    consumed_ingest_runs: list[str] = Field(default_factory=list)
    silver_runs: list[str] = Field(default_factory=list)
    # table -> the snapshot this run left it at
    tables: dict[str, int] = Field(default_factory=dict)
    reconciliation: dict[str, Any] = Field(default_factory=dict)
    # The Silver run that last changed a row (this one, unless its batch changed nothing): Gold is
    # up to date with Silver when it was built from that run or a later one.
    changed_by: str | None = None
    # Per table read in full, the Bronze run whose extraction Silver modelled (a table no run found
    # is absent); None in a record written before this was kept.
    full_extractions: dict[str, str] | None = None


def silver_record(tables: LayerTables, *, moved_is_missing: bool = False) -> SilverState:
    """The record of the last Silver run that committed whole; an empty one when there is none."""
    found = tables.record(SILVER_PUBLISHED_LAST, SILVER_RUN_PROPERTY, moved_is_missing=moved_is_missing)
    if found is None:
        return SilverState()
    text, snapshot_id = found
    try:
        record = SilverState.model_validate_json(text)
    except ValidationError:
        # A record another version wrote: treated as none, so Silver is rebuilt from Bronze.
        return SilverState()
    record.tables[SILVER_PUBLISHED_LAST] = snapshot_id
    return record
