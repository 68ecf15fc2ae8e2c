"""Bronze manifests in the order their runs ran, also when two runs started in the same second."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bi_lake.manifests import LINEAGE_PREFIX, Manifest, load_manifests, newest_first, source_columns
from bi_lake.storage import LocalStorage

SECOND = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def _manifest(run_id: str, extracted_at: dt.datetime) -> Manifest:
    return Manifest(
        run_id=run_id,
        source="sqlite",
        dialect="sqlite",
        extracted_at=extracted_at,
        finished_at=extracted_at + dt.timedelta(milliseconds=300),
        tables=[],
    )


def test_runs_of_one_second_are_ordered_by_their_extraction(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    # The random part of a run id says nothing of which run came first: here the later run's is lower.
    runs = [
        _manifest("20260301T115959Z-ffffff", SECOND - dt.timedelta(seconds=1)),
        _manifest("20260301T120000Z-f00000", SECOND + dt.timedelta(milliseconds=100)),
        _manifest("20260301T120000Z-000001", SECOND + dt.timedelta(milliseconds=700)),
        _manifest("20260301T120001Z-000000", SECOND + dt.timedelta(seconds=1)),
    ]
    for manifest in runs:
        manifest.save(storage)
    in_order = [m.run_id for m in runs]
    assert [m.run_id for m in newest_first(storage)] == in_order[::-1]
    assert [m.run_id for m in load_manifests(storage)] == in_order
    assert [m.run_id for m in load_manifests(storage, excluding=[in_order[0]])] == in_order[1:]


def test_bronze_lineage_columns_are_told_from_the_sources_by_their_prefix() -> None:
    from bi_ingest.bronze import LINEAGE_FIELDS

    lineage = [field.name for field in LINEAGE_FIELDS]
    assert all(name.startswith(LINEAGE_PREFIX) for name in lineage)
    assert source_columns(["order_id", *lineage, "item_price"]) == ["order_id", "item_price"]
