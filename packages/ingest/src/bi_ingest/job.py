"""The ingest job: every declared table from the source into Bronze, then one manifest, then watermarks.

Commit order is what keeps the watermark honest: files are written (each atomically), the run's
manifest is written last as the commit record, and only then do the watermarks advance. A run that
dies before its manifest leaves no visible partition (the next run sweeps its files) and an unchanged
watermark, so the re-run extracts the same rows again.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa

from bi_ingest.bronze import PartitionWriter, sweep_uncommitted
from bi_ingest.extract import (
    Window,
    bronze_schema,
    column_plans,
    count_query,
    extraction_query,
    high_water_query,
    plan_window,
    stream_chunks,
)
from bi_ingest.source import connect, error_line, redact, reflect
from bi_ingest.specs import SPECS, ExtractionSpec, spec_for
from bi_ingest.state import (
    ColumnSchema,
    Manifest,
    SchemaDrift,
    TableManifest,
    TableWatermark,
    Watermarks,
    schema_fingerprint,
)
from bi_ingest.types import UnsupportedType, arrow_type
from bi_lake.errors import UserError
from bi_lake.layout import manifest_key
from bi_lake.runs import JobReport, TableCounts, utc_now
from bi_lake.workflow import JobContext


def detect_drift(previous: list[ColumnSchema] | None, current: list[ColumnSchema]) -> SchemaDrift:
    if previous is None:
        return SchemaDrift()
    before = {column.name: column.type for column in previous}
    now = {column.name: column.type for column in current}
    return SchemaDrift(
        added=[name for name in now if name not in before],
        dropped=[name for name in before if name not in now],
        retyped={
            name: f"{before[name]} -> {now[name]}"
            for name in now
            if name in before and before[name] != now[name]
        },
    )


@dataclass
class _Planned:
    spec: ExtractionSpec
    table: sa.Table
    window: Window | None
    watermark_before: dt.datetime | None
    watermark_after: dt.datetime | None


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _plan_cursor_table(
    connection: sa.Connection,
    spec: ExtractionSpec,
    table: sa.Table,
    watermarks: Watermarks,
    context: JobContext,
) -> _Planned:
    assert spec.cursor is not None
    if spec.cursor not in table.c:
        raise UserError(f"{spec.table}: column {spec.cursor!r} is missing from the source")
    if not pa.types.is_timestamp(arrow_type(spec.cursor, table.c[spec.cursor].type)):
        raise UserError(f"{spec.table}: cursor column {spec.cursor!r} is not a date-time column")
    previous = watermarks.tables.get(spec.table)
    before = previous.cursor_value if previous else None
    high_water = connection.execute(high_water_query(table, spec.cursor)).scalar_one()
    window = plan_window(spec, before, high_water, context.full_refresh, context.start, context.end)
    after = before
    if window.mode != "range" and high_water is not None:
        # A row stamped in the future must not push the watermark past the extraction time.
        after = min(high_water, _naive_utc(context.run_started_at))
    return _Planned(spec, table, window, before, after)


def _check_shape(
    spec: ExtractionSpec, table: sa.Table, previous: TableWatermark | None
) -> tuple[list[ColumnSchema], SchemaDrift]:
    missing = [name for name in spec.required_columns if name not in table.c]
    if missing:
        raise UserError(f"{spec.table}: column {missing[0]!r} is missing from the source")
    try:
        plans = column_plans(table)
    except UnsupportedType as exc:
        raise UserError(f"{spec.table}: {exc}") from None
    columns = [ColumnSchema(name=p.name, type=str(p.arrow), nullable=p.nullable) for p in plans]
    drift = detect_drift(previous.columns if previous else None, columns)
    if drift.dropped:
        raise UserError(f"{spec.table}: column {drift.dropped[0]!r} was dropped from the source")
    if drift.retyped:
        name, change = next(iter(drift.retyped.items()))
        raise UserError(f"{spec.table}: column {name!r} changed type ({change})")
    return columns, drift


def _extract(
    connection: sa.Connection,
    planned: _Planned,
    parent: _Planned | None,
    context: JobContext,
    columns: list[ColumnSchema],
    drift: SchemaDrift,
) -> TableManifest:
    spec, table = planned.spec, planned.table
    started = time.monotonic()
    if drift.added:
        context.progress.warn(f"{spec.table}: new source column(s) {', '.join(drift.added)} kept in Bronze")
    window = parent.window if parent is not None else planned.window
    query = extraction_query(
        spec, table, window, parent.table if parent else None, parent.spec if parent else None
    )
    plans = column_plans(table)
    total = connection.execute(count_query(query)).scalar_one()
    task = context.progress.task(f"ingest {spec.table}", total=total)
    writer = PartitionWriter(
        context.lake.bronze, spec.table, context.run_id, context.run_started_at.date(), bronze_schema(plans)
    )
    rows = 0
    try:
        for chunk in stream_chunks(
            connection,
            query,
            plans,
            writer.schema,
            context.settings.chunk_rows,
            (spec.table, context.run_id, context.run_started_at),
            spec.cursor,
        ):
            writer.write(chunk)
            rows += chunk.num_rows
            task.advance(chunk.num_rows)
        files = writer.close()
    except BaseException:
        writer.abort()
        raise
    task.finish(f"{rows:,} rows")
    mode = window.mode if window is not None else "full"
    return TableManifest(
        table=spec.table,
        status="committed",
        mode=mode if spec.mode != "full" else "full",
        rows=rows,
        chunks=writer.chunks,
        bytes=sum(f.bytes for f in files),
        files=files,
        partition=writer.partition if files else None,
        cursor_column=spec.cursor or (parent.spec.cursor if parent else None),
        cursor_from=window.lower if window else None,
        cursor_from_inclusive=bool(window and window.mode == "range"),
        cursor_to=window.upper if window else None,
        watermark_before=planned.watermark_before,
        watermark_after=planned.watermark_after,
        columns=columns,
        schema_fingerprint=schema_fingerprint(columns),
        schema_drift=drift,
        seconds=round(time.monotonic() - started, 3),
    )


def run(context: JobContext) -> JobReport:
    started_at = utc_now()
    storage = context.lake.bronze
    removed = sweep_uncommitted(storage, [spec.table for spec in SPECS])
    if removed:
        context.progress.warn(f"removed {len(removed)} Bronze partition(s) left by an interrupted run")
    watermarks = Watermarks.load(storage)
    engine = connect(context.settings.source_url)
    planned: dict[str, _Planned] = {}
    manifests: list[TableManifest] = []
    try:
        with engine.connect() as connection:
            for spec in SPECS:
                try:
                    manifests.append(_extract_one(connection, spec, planned, watermarks, context))
                except (UserError, sa.exc.SQLAlchemyError) as exc:
                    message = str(exc) if isinstance(exc, UserError) else f"{spec.table}: {error_line(exc)}"
                    manifests.append(
                        TableManifest(table=spec.table, status="failed", mode=spec.mode, error=message)
                    )
    finally:
        engine.dispose()
    finished_at = utc_now()
    Manifest(
        run_id=context.run_id,
        source=redact(context.settings.source_url),
        dialect=engine.dialect.name,
        extracted_at=context.run_started_at,
        finished_at=finished_at,
        tables=manifests,
    ).save(storage)
    for entry in manifests:
        if entry.status == "committed":
            watermarks.tables[entry.table] = TableWatermark(
                table=entry.table,
                cursor_column=spec_for(entry.table).cursor,
                cursor_value=entry.watermark_after,
                last_run_id=context.run_id,
                last_extracted_at=context.run_started_at,
                columns=entry.columns,
            )
    watermarks.save(storage)
    errors = [entry.error for entry in manifests if entry.error]
    return JobReport(
        job="ingest",
        status="failed" if errors else "succeeded",
        started_at=started_at,
        finished_at=finished_at,
        seconds=round((finished_at - started_at).total_seconds(), 3),
        tables=[
            TableCounts(
                table=m.table,
                rows_in=m.rows,
                rows_out=m.rows,
                files=len(m.files),
                bytes=m.bytes,
                note=m.error or m.mode,
            )
            for m in manifests
        ],
        error="; ".join(e for e in errors if e) or None,
        details={"manifest": manifest_key(context.run_id), "removed_partitions": removed},
    )


def _extract_one(
    connection: sa.Connection,
    spec: ExtractionSpec,
    planned: dict[str, _Planned],
    watermarks: Watermarks,
    context: JobContext,
) -> TableManifest:
    table = reflect(connection, spec.table)
    columns, drift = _check_shape(spec, table, watermarks.tables.get(spec.table))
    parent: _Planned | None = None
    if spec.mode == "parent":
        assert spec.parent is not None
        parent = planned.get(spec.parent)
        if parent is None:
            parent_spec = spec_for(spec.parent)
            parent = _plan_cursor_table(
                connection, parent_spec, reflect(connection, spec.parent), watermarks, context
            )
        this = _Planned(spec, table, None, None, None)
    elif spec.mode == "cursor":
        this = _plan_cursor_table(connection, spec, table, watermarks, context)
        planned[spec.table] = this
    else:
        this = _Planned(spec, table, None, None, None)
    return _extract(connection, this, parent, context, columns, drift)
