"""The ingest job: every declared table from the source into Bronze, then one manifest, then watermarks.

Commit order is what keeps the watermark honest: files are written (each atomically), the run's
manifest is written last as the commit record, and only then do the watermarks advance. A run that
dies before its manifest leaves no visible partition (the next run sweeps its files) and an unchanged
watermark, so the re-run extracts the same rows again.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa

from bi_ingest.bronze import PartitionWriter, sweep_uncommitted
from bi_ingest.extract import (
    ColumnPlan,
    Window,
    bronze_schema,
    column_plans,
    count_query,
    extraction_query,
    high_water_query,
    plan_window,
    stream_chunks,
)
from bi_ingest.readers import Columns, MixedTypes, Reader, driver_rows, sqlite_arrow, sqlite_arrow_file
from bi_ingest.source import connect, error_line, redact, reflect
from bi_ingest.specs import SPECS, ExtractionSpec, spec_for
from bi_ingest.types import UnsupportedType, arrow_type
from bi_lake.errors import UserError
from bi_lake.layout import manifest_key
from bi_lake.manifests import (
    ColumnSchema,
    Manifest,
    SchemaDrift,
    TableManifest,
    TableWatermark,
    Watermarks,
    schema_fingerprint,
)
from bi_lake.runs import JobReport, TableCounts, utc_now
from bi_lake.storage import Storage
from bi_lake.workflow import JobContext, ProgressTask


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
class _Shape:
    """A source table as reflected this run, checked against what earlier runs saw."""

    spec: ExtractionSpec
    table: sa.Table
    columns: list[ColumnSchema]
    drift: SchemaDrift


@dataclass
class _Window:
    window: Window | None
    watermark_before: dt.datetime | None = None
    watermark_after: dt.datetime | None = None


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _check_shape(connection: sa.Connection, spec: ExtractionSpec, previous: TableWatermark | None) -> _Shape:
    table = reflect(connection, spec.table)
    missing = [name for name in spec.required_columns if name not in table.c]
    if missing:
        raise UserError(f"{spec.table}: column {missing[0]!r} is missing from the source")
    try:
        plans = column_plans(table)
    except UnsupportedType as exc:
        raise UserError(f"{spec.table}: {exc}") from None
    if spec.cursor and not pa.types.is_timestamp(arrow_type(spec.cursor, table.c[spec.cursor].type)):
        raise UserError(f"{spec.table}: cursor column {spec.cursor!r} is not a date-time column")
    columns = [ColumnSchema(name=p.name, type=str(p.arrow), nullable=p.nullable) for p in plans]
    drift = detect_drift(previous.columns if previous else None, columns)
    if drift.dropped:
        raise UserError(f"{spec.table}: column {drift.dropped[0]!r} was dropped from the source")
    if drift.retyped:
        name, change = next(iter(drift.retyped.items()))
        raise UserError(f"{spec.table}: column {name!r} changed type ({change})")
    return _Shape(spec, table, columns, drift)


def _plan_window(
    connection: sa.Connection, shape: _Shape, watermarks: Watermarks, context: JobContext
) -> _Window:
    spec = shape.spec
    if spec.mode != "cursor":
        return _Window(None)
    assert spec.cursor is not None
    previous = watermarks.tables.get(spec.table)
    before = previous.cursor_value if previous else None
    high_water = connection.execute(high_water_query(shape.table, spec.cursor)).scalar_one()
    window = plan_window(spec, before, high_water, context.full_refresh, context.start, context.end)
    after = before
    if window.mode != "range" and high_water is not None:
        # A row stamped in the future must not push the watermark past the extraction time.
        after = min(high_water, _naive_utc(context.run_started_at))
    return _Window(window, before, after)


def _extract(
    connection: sa.Connection,
    shape: _Shape,
    own: _Window,
    parent: tuple[_Shape, _Window] | None,
    context: JobContext,
) -> TableManifest:
    spec, table = shape.spec, shape.table
    started = time.monotonic()
    if shape.drift.added:
        context.progress.warn(
            f"{spec.table}: new source column(s) {', '.join(shape.drift.added)} kept in Bronze"
        )
    window = parent[1].window if parent else own.window
    query = extraction_query(
        spec, table, window, parent[0].table if parent else None, parent[0].spec if parent else None
    )
    plans = column_plans(table)
    total = connection.execute(count_query(query)).scalar_one()
    task = context.progress.task(f"ingest {spec.table}", total=total)
    chunk_rows = context.settings.chunk_rows
    source_file = sqlite_arrow_file(context.settings.source_url)
    reader: Reader = "sqlite_arrow" if source_file is not None else "driver_rows"
    try:
        if source_file is not None:
            batches = sqlite_arrow(source_file, query, spec.table, plans, chunk_rows)
        else:
            batches = driver_rows(connection, query, spec.table, plans, chunk_rows)
        writer = _write_partition(context, spec, plans, batches, task)
    except MixedTypes as exc:
        context.progress.warn(f"{spec.table}: {exc}; reading it again row by row")
        task.finish("read again row by row")
        reader = "driver_rows"
        task = context.progress.task(f"ingest {spec.table} (row by row)", total=total)
        batches = driver_rows(connection, query, spec.table, plans, chunk_rows)
        writer = _write_partition(context, spec, plans, batches, task)
    rows = writer.rows
    task.finish(f"{rows:,} rows")
    return TableManifest(
        table=spec.table,
        status="committed",
        mode=window.mode if window is not None and spec.mode != "full" else "full",
        rows=rows,
        chunks=writer.chunks,
        bytes=sum(f.bytes for f in writer.files),
        files=writer.files,
        partition=writer.partition if writer.files else None,
        reader=reader,
        cursor_column=spec.cursor or (parent[0].spec.cursor if parent else None),
        cursor_from=window.lower if window else None,
        cursor_from_inclusive=bool(window and window.mode == "range"),
        cursor_to=window.upper if window else None,
        watermark_before=own.watermark_before,
        watermark_after=own.watermark_after,
        columns=shape.columns,
        schema_fingerprint=schema_fingerprint(shape.columns),
        schema_drift=shape.drift,
        seconds=round(time.monotonic() - started, 3),
    )


def _write_partition(
    context: JobContext,
    spec: ExtractionSpec,
    plans: list[ColumnPlan],
    batches: Iterator[Columns],
    task: ProgressTask,
) -> PartitionWriter:
    """One table's chunks into its run partition, all of them or (on any error) none."""
    writer = PartitionWriter(
        context.lake.bronze, spec.table, context.run_id, context.run_started_at.date(), bronze_schema(plans)
    )
    lineage = (spec.table, context.run_id, context.run_started_at)
    try:
        for chunk in stream_chunks(batches, plans, writer.schema, lineage, spec.cursor):
            writer.write(chunk)
            task.advance(chunk.num_rows)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return writer


def _failed(error: str, removed: list[str]) -> JobReport:
    return JobReport(
        job="ingest",
        status="failed",
        error=f"{error} (nothing was committed; watermarks unchanged)",
        details={"removed_partitions": removed},
    )


def run(context: JobContext) -> JobReport:
    """Extract every declared table; commit all of them or none."""
    storage = context.lake.bronze
    removed = sweep_uncommitted(storage, [spec.table for spec in SPECS])
    if removed:
        context.progress.warn(f"removed {len(removed)} Bronze partition(s) left by an interrupted run")
    watermarks = Watermarks.load(storage)
    engine = connect(context.settings.source_url)
    manifests: list[TableManifest] = []
    try:
        with engine.connect() as connection:
            absent = _absent_optional_tables(connection)
            present = [spec for spec in SPECS if spec.table not in absent]
            shapes, problems = _check_shapes(connection, present, watermarks)
            if problems:
                return _failed("; ".join(problems), removed)
            windows = {
                name: _plan_window(connection, shape, watermarks, context) for name, shape in shapes.items()
            }
            for spec in present:
                parent = (shapes[spec.parent], windows[spec.parent]) if spec.parent else None
                try:
                    manifests.append(
                        _extract(connection, shapes[spec.table], windows[spec.table], parent, context)
                    )
                except sa.exc.SQLAlchemyError as exc:
                    raise UserError(f"{spec.table}: {error_line(exc)}") from None
    except UserError as exc:
        _discard(storage, manifests)
        return _failed(str(exc), removed)
    except BaseException:
        _discard(storage, manifests)
        raise
    finally:
        engine.dispose()
    _commit(context, engine.dialect.name, manifests, watermarks)
    details = {
        "manifest": manifest_key(context.run_id),
        "removed_partitions": removed,
        **({"absent_optional_tables": absent} if absent else {}),
    }
    return JobReport(
        job="ingest", status="succeeded", tables=[_counts(m) for m in manifests], details=details
    )


def _check_shapes(
    connection: sa.Connection, specs: list[ExtractionSpec], watermarks: Watermarks
) -> tuple[dict[str, _Shape], list[str]]:
    """Every table's shape, checked before any is extracted, so that all problems show at once."""
    shapes, problems = {}, []
    for spec in specs:
        try:
            shapes[spec.table] = _check_shape(connection, spec, watermarks.tables.get(spec.table))
        except (UserError, sa.exc.SQLAlchemyError) as exc:
            problems.append(str(exc) if isinstance(exc, UserError) else f"{spec.table}: {error_line(exc)}")
    return shapes, problems


def _commit(
    context: JobContext, dialect: str, manifests: list[TableManifest], watermarks: Watermarks
) -> None:
    """The manifest is the commit: from here on the run's partitions count, and the watermarks may move."""
    storage = context.lake.bronze
    Manifest(
        run_id=context.run_id,
        source=redact(context.settings.source_url),
        dialect=dialect,
        extracted_at=context.run_started_at,
        finished_at=utc_now(),
        tables=manifests,
    ).save(storage)
    for entry in manifests:
        watermarks.tables[entry.table] = TableWatermark(
            table=entry.table,
            cursor_column=spec_for(entry.table).cursor,
            cursor_value=entry.watermark_after,
            last_run_id=context.run_id,
            last_extracted_at=context.run_started_at,
            columns=entry.columns,
        )
    watermarks.save(storage)


def _counts(manifest: TableManifest) -> TableCounts:
    return TableCounts(
        table=manifest.table,
        rows_in=manifest.rows,
        rows_out=manifest.rows,
        files=len(manifest.files),
        bytes=manifest.bytes,
        note=manifest.mode,
    )


def _absent_optional_tables(connection: sa.Connection) -> list[str]:
    """The optional tables this source does not have (a source without them is an ordinary source)."""
    try:
        probe = sa.inspect(connection)
        return [spec.table for spec in SPECS if spec.optional and not probe.has_table(spec.table)]
    except sa.exc.SQLAlchemyError as exc:
        raise UserError(f"cannot list the source's tables: {error_line(exc)}") from None


def _discard(storage: Storage, manifests: list[TableManifest]) -> None:
    for entry in manifests:
        if entry.partition:
            storage.delete_prefix(entry.partition)
