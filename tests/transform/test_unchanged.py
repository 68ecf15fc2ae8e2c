"""The nothing-new check's first test: a line past what earlier runs extracted is new, by the cursor
column each manifest names (Arrow only, no Spark)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from bi_lake.manifests import Manifest, TableManifest
from bi_transform.silver.unchanged import _created_after_earlier_extractions

SEEN_UNTIL = dt.datetime(2024, 1, 10, 12, 0, tzinfo=dt.UTC)


def _batch(cursor: str | None, watermark: dt.datetime | None = SEEN_UNTIL) -> list[Manifest]:
    table = TableManifest(
        table="order_items", status="committed", mode="incremental", cursor_column=cursor,
        watermark_before=watermark,
    )  # fmt: skip
    return [
        Manifest(
            run_id="r",
            source="s",
            dialect="sqlite",
            extracted_at=SEEN_UNTIL,
            finished_at=SEEN_UNTIL,
            tables=[table],
        )
    ]


def _lines(**columns: list[dt.datetime]) -> pa.Table:
    return pa.table(
        {name: pa.array(values, pa.timestamp("us", tz="UTC")) for name, values in columns.items()}
    )


def test_a_line_past_the_watermark_of_the_manifests_cursor_is_new() -> None:
    later, earlier = SEEN_UNTIL + dt.timedelta(hours=1), SEEN_UNTIL - dt.timedelta(hours=1)
    assert _created_after_earlier_extractions(_batch("updated_at"), _lines(updated_at=[earlier, later]))
    assert not _created_after_earlier_extractions(_batch("updated_at"), _lines(updated_at=[earlier]))
    # The cursor is the manifest's column, not another timestamp of the line.
    assert not _created_after_earlier_extractions(
        _batch("updated_at"), _lines(updated_at=[earlier], creation_time_utc=[later])
    )


def test_without_a_cursor_or_a_watermark_the_batch_counts_as_new() -> None:
    lines = _lines(creation_time_utc=[SEEN_UNTIL])
    assert _created_after_earlier_extractions(_batch(None), lines)
    assert _created_after_earlier_extractions(_batch("creation_time_utc", watermark=None), lines)
    assert _created_after_earlier_extractions(_batch("missing_column"), lines)
