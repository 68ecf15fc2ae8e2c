"""Whether a batch of Bronze runs changes anything Silver holds, decided without Spark.

An incremental extraction re-reads a window before its watermark (the lookback), so most runs bring
lines Silver already holds, and a run on a day without new orders brings nothing else. Such a batch
changes nothing when:

- every line in it is, value for value, the Bronze row Silver took that line's current version from:
  the extraction its published row names, or the one its latest quarantine names (for a reason that
  does not depend on when the row was read: a line quarantined as `future_timestamp` may be kept now);
- every option is one Silver publishes, or one it quarantined for a reason that still holds (an
  orphan stays one while no line of its key is published);
- the calendar and the restaurants are, row for row, the extractions Silver last modelled.

Any doubt answers "changed", and the run does the whole work. Only the batch's own files, the Silver
partitions of the batch's dates, the Bronze runs those name and the newest quarantines are read.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bi_contracts.silver import SilverState
from bi_lake.manifests import Manifest, files_of, load_manifest, source_columns
from bi_lake.storage import Storage
from bi_transform.silver.rules import LINE_KEY, OPTION_COLUMNS
from bi_transform.silver.store import (
    FULL_EXTRACTIONS,
    QUARANTINE_PREFIX,
    SilverStore,
    latest_extraction,
    quarantined_run,
)

LINES, OPTIONS = "order_items", "order_item_options"
# A line quarantined for this reason was judged against the time it was read, so a later read of
# the same row may keep it.
_READ_TIME_REASONS = frozenset({"future_timestamp"})
_ORPHAN = "orphan_option"
_MISSING_KEY = "missing_key"
INCREMENTAL = "incremental"

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Unchanged:
    """A batch that changes nothing: how many of its rows Silver already holds."""

    lines: int
    options: int


def unchanged_batch(
    store: SilverStore, state: SilverState, bronze: Storage, batch: list[Manifest]
) -> Unchanged | None:
    """The batch's rows when all of them are already in Silver as they are; None when any may change
    it (or Silver's record does not say enough to tell)."""
    if not _may_be_unchanged(state, bronze, batch):
        return None
    batch_lines = _batch_rows(bronze, batch, LINES)
    if batch_lines is None or _created_after_earlier_extractions(batch, batch_lines):
        return None
    held = _lines_held(store, state, bronze, batch_lines)
    if held is None:
        return None
    dates, published_keys = held
    options = _batch_rows(bronze, batch, OPTIONS)
    option_rows = [] if options is None else options.select(list(OPTION_COLUMNS)).to_pylist()
    if not _options_held(store, state, dates, option_rows, published_keys):
        return None
    return Unchanged(lines=batch_lines.num_rows, options=len(option_rows))


def _may_be_unchanged(state: SilverState, bronze: Storage, batch: list[Manifest]) -> bool:
    """Whether the batch can be compared at all: Silver's record names the full extractions it was
    modelled from, they are the latest, and the batch holds only what incremental runs bring."""
    modelled = state.full_extractions
    if state.run_id is None or modelled is None:
        return False
    # A backfill (`--start/--end`) or a full re-extraction asks for its rows to be processed again
    # (after a rule changed, say): only what incremental runs bring may be taken as unchanged.
    if any(t.mode != INCREMENTAL for m in batch for t in m.tables if t.table in (LINES, OPTIONS)):
        return False
    return all(_same_full_extraction(bronze, table, modelled.get(table)) for table in FULL_EXTRACTIONS)


def _lines_held(
    store: SilverStore, state: SilverState, bronze: Storage, batch_lines: pa.Table
) -> tuple[list[dt.date], set[tuple[str, str]]] | None:
    """When every line of the batch is in Silver as it is (published, or quarantined for a reason a
    re-read would give again): the order dates they fall in and the keys published; else None."""
    values = source_columns(batch_lines.column_names)
    keyed = _keyed(batch_lines)
    keyless = batch_lines.filter(pc.invert(keyed)).select(values).to_pylist()
    if keyless and not _keyless_held(store.storage, state, bronze, keyless, values):
        return None
    lines = batch_lines.filter(keyed)
    keys = list(zip(*(lines.column(name).to_pylist() for name in LINE_KEY), strict=True))
    dates = _order_dates(lines)
    published_lines = _published(store, state, "fct_order_line", dates, (*LINE_KEY, "ingest_run_id"))
    taken_from = {(row["order_id"], row["lineitem_id"]): row["ingest_run_id"] for row in published_lines}
    published_keys = set(taken_from)
    missing = set(keys) - taken_from.keys()
    if missing:
        quarantined = _latest_quarantine(store.storage, state, LINES, LINE_KEY, missing)
        if quarantined is None or any(reason in _READ_TIME_REASONS for _, reason in quarantined.values()):
            return None
        taken_from |= {key: run for key, (run, _) in quarantined.items()}
    if not _same_as_taken(bronze, lines.select(values).to_pylist(), keys, taken_from, values):
        return None
    return dates, published_keys


def _read(
    storage: Storage, key: str, columns: list[str] | None = None, filters: pc.Expression | None = None
) -> pa.Table:
    path = storage.local_path(key)
    # The file's own columns only: its folders (ingest_date=…/run_id=…) are not columns of its rows.
    source = path or io.BytesIO(storage.read_bytes(key))
    return pq.read_table(source, columns=columns, filters=filters, partitioning=None)


def _batch_rows(bronze: Storage, batch: list[Manifest], table: str) -> pa.Table | None:
    files = files_of(batch, table)
    if not files:
        return None
    # Runs may differ by a column the source added: one that is missing reads as NULL, as in Spark.
    return pa.concat_tables((_read(bronze, key) for key in files), promote_options="default")


def _blank(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # Spaces only, as the quarantine rule trims them.
    return pc.fill_null(pc.equal(pc.utf8_trim(column, characters=" "), ""), True)


def _created_after_earlier_extractions(batch: list[Manifest], lines: pa.Table) -> bool:
    """Whether a line's cursor is past everything the runs before the batch extracted: it is new, and
    nothing more needs reading to know the batch changes Silver (an added day ends here). The cursor is
    the column each manifest names; a run without one cannot tell."""
    extracted = [t for m in batch for t in m.tables if t.table == LINES]
    cursors = {t.cursor_column for t in extracted}
    marks = [t.watermark_before for t in extracted]
    if not marks or any(mark is None for mark in marks) or len(cursors) != 1:
        return True
    (cursor,) = cursors
    if cursor is None or cursor not in lines.column_names:
        return True
    seen_until = min(mark for mark in marks if mark is not None)
    if seen_until.tzinfo is None:
        seen_until = seen_until.replace(tzinfo=dt.UTC)  # the cursor is a UTC time
    values = lines.column(cursor)
    return bool(pc.any(pc.greater(values, pa.scalar(seen_until, type=values.type))).as_py())


def _keyed(lines: pa.Table) -> pa.ChunkedArray:
    """Which lines have a key to match their versions by (the others are quarantined on their own)."""
    return pc.invert(pc.or_(_blank(lines.column("order_id")), _blank(lines.column("lineitem_id"))))


def _keyless_held(
    storage: Storage, state: SilverState, bronze: Storage, rows: list[dict[str, Any]], values: list[str]
) -> bool:
    """Whether every line without a key is, value for value, one Silver quarantined already (from the
    Bronze runs its newest quarantines of keyless lines name)."""
    wanted = {tuple(row[name] for name in values) for row in rows}
    read: set[str] = set()
    for key in _quarantines_newest_first(storage, state, LINES):
        quarantined = _read(storage, key, ["_run_id", "_reason"]).to_pylist()
        for run_id in {row["_run_id"] for row in quarantined if row["_reason"] == _MISSING_KEY} - read:
            read.add(run_id)
            for file_key in files_of([load_manifest(bronze, run_id)], LINES):
                table = _read(bronze, file_key)
                if sorted(source_columns(table.column_names)) != sorted(values):
                    return False
                wanted -= {tuple(row[name] for name in values) for row in _rows_without_key(table, values)}
        if not wanted:
            return True
    return False


def _rows_without_key(table: pa.Table, values: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.filter(pc.invert(_keyed(table))).select(values).to_pylist()
    return rows


def _order_dates(lines: pa.Table) -> list[dt.date]:
    """The order-date partitions the lines may stand in: a line's own date and the day before (its
    order may have started before midnight), as the Silver job touches them."""
    days = pc.unique(pc.cast(lines.column("creation_time_utc"), pa.date32())).drop_null().to_pylist()
    return sorted({day - delta for day in days for delta in (dt.timedelta(0), dt.timedelta(days=1))})


def _published(
    store: SilverStore, state: SilverState, table: str, dates: list[dt.date], columns: tuple[str, ...]
) -> list[dict[str, Any]]:
    """These columns of the table's rows in these order-date partitions, as the record left them."""
    snapshot_id = state.tables.get(table)
    loaded = store.tables.load(table) if snapshot_id is not None else None
    if loaded is None or not dates:
        return []
    scan = loaded.scan(
        snapshot_id=snapshot_id,
        row_filter=f"order_date in ({', '.join(repr(day.isoformat()) for day in dates)})",
        selected_fields=columns,
    )
    rows: list[dict[str, Any]] = scan.to_arrow().to_pylist()
    return rows


def _quarantines_newest_first(storage: Storage, state: SilverState, table: str) -> list[str]:
    """The quarantine files of the Silver runs that committed (a run that died before its last
    commit quarantined nothing a reader sees), newest run first."""
    committed = set(state.silver_runs)
    keys = [
        key
        for key in storage.list_keys(f"{QUARANTINE_PREFIX}/{table}/")
        if key.endswith(".parquet") and quarantined_run(key) in committed
    ]
    # Folders are named by the Silver run, whose id starts with its UTC time.
    return sorted(keys, reverse=True)


def _latest_quarantine(
    storage: Storage, state: SilverState, table: str, key_columns: tuple[str, ...], wanted: set[Key]
) -> dict[Key, tuple[str, str]] | None:
    """For each wanted key, the Bronze run and reason of its newest quarantine; None when a key has
    none (Silver never saw that row: it is new)."""
    found: dict[Key, tuple[str, str]] = {}
    for key in _quarantines_newest_first(storage, state, table):
        rows = _read(storage, key, [*key_columns, "_run_id", "_reason"]).to_pylist()
        for row in rows:
            row_key = tuple(row[name] for name in key_columns)
            if row_key in wanted and row_key not in found:
                found[row_key] = (row["_run_id"], row["_reason"])
        if len(found) == len(wanted):
            return found
    return None


def _same_as_taken(
    bronze: Storage,
    rows: list[dict[str, Any]],
    keys: list[Key],
    taken_from: dict[Key, str],
    values: list[str],
) -> bool:
    """Whether every batch row equals, in every source column, a row of its key in the Bronze run
    Silver took that key from."""
    wanted: dict[str, set[Key]] = {}
    for key in keys:
        wanted.setdefault(taken_from[key], set()).add(key)
    held: dict[Key, set[Key]] = {}
    times = [row["creation_time_utc"] for row in rows if row["creation_time_utc"] is not None]
    created = pc.field("creation_time_utc")
    # An equal row was created when the batch's was: only those row groups are read of a large run.
    window = created.is_null() | ((created >= min(times)) & (created <= max(times))) if times else None
    for run_id, run_keys in wanted.items():
        manifest = load_manifest(bronze, run_id)
        order_ids = pa.array(sorted({key[0] for key in run_keys}))
        for file_key in files_of([manifest], LINES):
            table = _read(bronze, file_key, filters=window)
            if sorted(source_columns(table.column_names)) != sorted(values):
                return False
            matching = table.filter(pc.is_in(table.column("order_id"), value_set=order_ids))
            for row in matching.select(values).to_pylist():
                key = tuple(row[name] for name in LINE_KEY)
                if key in run_keys:
                    held.setdefault(key, set()).add(tuple(row[name] for name in values))
    return all(
        tuple(row[name] for name in values) in held.get(key, set())
        for row, key in zip(rows, keys, strict=True)
    )


def _options_held(
    store: SilverStore,
    state: SilverState,
    dates: list[dt.date],
    rows: list[dict[str, Any]],
    published_lines: set[Key],
) -> bool:
    """Whether every option row is published already, or quarantined for a reason that still holds
    (`published_lines`: the keys of the lines published in these partitions)."""
    if not rows:
        return True
    published = {
        tuple(row[name] for name in OPTION_COLUMNS)
        for row in _published(store, state, "fct_order_option", dates, OPTION_COLUMNS)
    }
    missing = {tuple(row[name] for name in OPTION_COLUMNS) for row in rows} - published
    if not missing:
        return True
    quarantined = _latest_quarantine(store.storage, state, OPTIONS, OPTION_COLUMNS, missing)
    if quarantined is None:
        return False
    # An orphan whose line is published now would be attached to it by a run.
    return not any(
        reason == _ORPHAN and option[:2] in published_lines for option, (_, reason) in quarantined.items()
    )


def _same_full_extraction(bronze: Storage, table: str, modelled_run: str | None) -> bool:
    """Whether the latest extraction of a table read in full holds the rows of the one Silver
    modelled (when it is not that one: the source's table may be unchanged)."""
    latest = latest_extraction(bronze, table)
    if (latest.run_id if latest else None) == modelled_run:
        return True
    if latest is None or modelled_run is None:
        return False
    return _rows_of(bronze, [latest], table) == _rows_of(bronze, [load_manifest(bronze, modelled_run)], table)


def _rows_of(bronze: Storage, manifests: list[Manifest], table: str) -> tuple[list[str], list[Key]] | None:
    """A table's columns and sorted rows in these runs (lineage columns aside); None when no run found it."""
    if not any(t.table == table for m in manifests for t in m.tables):
        return None
    frame = _batch_rows(bronze, manifests, table)
    if frame is None:
        return [], []
    columns = sorted(source_columns(frame.column_names))
    rows = [tuple(row[name] for name in columns) for row in frame.select(columns).to_pylist()]
    return columns, sorted(rows, key=repr)
