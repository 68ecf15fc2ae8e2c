"""The local workflow runner: executes the declared workflow on one lake, under its lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bi_lake import interrupts
from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.lock import LakeLock
from bi_lake.runs import JobReport, RunReport, new_run_id, utc_now
from bi_lake.settings import Settings
from bi_lake.version import code_version
from bi_lake.workflow import WORKFLOW, JobContext, JobSpec, Progress, Workflow, run_job
from bi_transform.spark import require_java

# What must hold before a job of each runtime starts.
PREFLIGHT: dict[str, Callable[[], None]] = {"python": lambda: None, "spark": require_java}


@dataclass(frozen=True)
class RunOptions:
    full_refresh: bool = False
    start: dt.date | None = None
    end: dt.date | None = None
    only: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise UserError(f"--start {self.start} is after --end {self.end}")


def run_workflow(
    settings: Settings, options: RunOptions, progress: Progress, workflow: Workflow = WORKFLOW
) -> RunReport:
    """Run the selected jobs in order, under the lake lock; a failed job stops the jobs after it.

    The run report is saved in the lake when the run starts, after each job, and at the end.
    """
    jobs = workflow.select(options.only)
    lake = _checked_lake(settings, jobs)
    started_at = utc_now()
    report = RunReport(
        run_id=new_run_id(started_at),
        status="running",
        started_at=started_at,
        code_version=code_version(),
        options={
            "full_refresh": options.full_refresh,
            "start": options.start,
            "end": options.end,
            "only": list(options.only) if options.only else None,
        },
    )
    interrupts.reset()
    interrupts.watch()
    with LakeLock(lake.root, report.run_id, settings.lock_stale_after_s, on_takeover=progress.warn):
        report.save(lake.root)
        context = JobContext(
            run_id=report.run_id,
            run_started_at=started_at,
            settings=settings,
            lake=lake,
            full_refresh=options.full_refresh,
            start=options.start,
            end=options.end,
            progress=progress,
        )
        failed: str | None = None
        for job in jobs:
            if failed is not None:
                report.jobs.append(JobReport(job=job.name, status="skipped", error=f"{failed} failed"))
                continue
            report.jobs.append(_run_recorded(job, context, report))
            report.save(lake.root)
            if report.jobs[-1].status == "failed":
                failed = job.name
        report.finished_at = utc_now()
        report.seconds = round((report.finished_at - started_at).total_seconds(), 3)
        report.status = "failed" if failed else "succeeded"
        if failed:
            report.error = next(j.error for j in report.jobs if j.job == failed)
        report.save(lake.root)
    return report


def _checked_lake(settings: Settings, jobs: list[JobSpec]) -> Lake:
    """The lake the settings name, checked for what the selected jobs need before anything runs."""
    for runtime in sorted({job.runtime for job in jobs}):
        PREFLIGHT[runtime]()
    lake = Lake.from_settings(settings)
    if lake.on_s3 and not settings.kms_key_id:
        raise UserError(
            "writing to an S3 lake needs the project's KMS key: set BI_KMS_KEY_ID to its ARN "
            "(every object is written with SSE-KMS, never relying on the bucket default)"
        )
    # Only what the selected jobs use: a role that may run ingest need not see Silver or Gold.
    lake.check(sorted({layer for job in jobs for layer in (*job.reads, *job.writes)}))
    return lake


def _run_recorded(job: JobSpec, context: JobContext, report: RunReport) -> JobReport:
    """One job; if it raises, the run report says so before the exception goes on."""
    try:
        return run_job(job, context)
    except BaseException as exc:
        report.finished_at = utc_now()
        if isinstance(exc, KeyboardInterrupt) or interrupts.seen():
            # Whatever Ctrl-C broke on its way (Spark's gateway, a half-read file) is not news.
            report.status, report.error = "interrupted", f"{job.name}: interrupted"
            report.save(context.lake.root)
            raise KeyboardInterrupt from None
        # A bug: record it in the report, then let it surface as it is.
        report.status, report.error = "failed", f"{job.name}: {type(exc).__name__}: {exc}"
        report.save(context.lake.root)
        raise
