"""The workflow, declared once as data.

The local runner executes `WORKFLOW`; the deployment turns the same declaration into Glue jobs, a
Glue Workflow and its triggers. A job names its entrypoint (`module:function`, called with a
`JobContext`), its upstream jobs, and how it runs on Glue.
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.runs import JobReport, utc_now
from bi_lake.settings import Settings


@dataclass(frozen=True)
class GlueSizing:
    """How a job runs on AWS Glue: a Python shell job (DPU capacity) or a Spark job (workers)."""

    job_type: Literal["pythonshell", "glueetl"]
    max_capacity: float | None = None
    worker_type: str | None = None
    workers: int | None = None
    flex: bool = False
    timeout_minutes: int = 60
    # Attempts after a failed one; a retry of a workflow run's job takes its own lock over at once.
    retries: int = 0


Layer = Literal["bronze", "silver", "gold"]


@dataclass(frozen=True)
class JobSpec:
    name: str
    entrypoint: str
    description: str
    runtime: Literal["python", "spark"]
    glue: GlueSizing
    depends_on: tuple[str, ...] = ()
    # The layers it reads and writes (every job also keeps the run reports and lock at the lake root),
    # and whether it reads the source database: what the runner checks before a run and what the
    # deployment grants each job's role.
    reads: tuple[Layer, ...] = ()
    writes: tuple[Layer, ...] = ()
    reads_source: bool = False


class ProgressTask(Protocol):
    def advance(self, amount: int) -> None: ...

    def finish(self, summary: str) -> None: ...


class Progress(Protocol):
    """Where jobs report progress; the command line draws it, tests and Glue may ignore it."""

    def task(self, description: str, total: int | None = None) -> ProgressTask: ...

    def warn(self, message: str) -> None: ...


class _SilentTask:
    def advance(self, amount: int) -> None:
        pass

    def finish(self, summary: str) -> None:
        pass


class SilentProgress:
    def task(self, description: str, total: int | None = None) -> ProgressTask:
        return _SilentTask()

    def warn(self, message: str) -> None:
        pass


@dataclass
class JobContext:
    """Everything a job needs from the run that calls it."""

    run_id: str
    run_started_at: dt.datetime
    settings: Settings
    lake: Lake
    full_refresh: bool = False
    start: dt.date | None = None
    end: dt.date | None = None
    progress: Progress = field(default_factory=SilentProgress)


JobFunction = Callable[[JobContext], JobReport]


@dataclass(frozen=True)
class Workflow:
    jobs: tuple[JobSpec, ...]

    def __post_init__(self) -> None:
        names = [job.name for job in self.jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate job names in {names}")
        for job in self.jobs:
            unknown = set(job.depends_on) - set(names)
            if unknown:
                raise ValueError(f"job {job.name} depends on unknown jobs {sorted(unknown)}")
        self.ordered()

    @property
    def names(self) -> list[str]:
        return [job.name for job in self.jobs]

    def get(self, name: str) -> JobSpec:
        for job in self.jobs:
            if job.name == name:
                return job
        raise UserError(f"unknown job {name!r}; jobs are: {', '.join(self.names)}")

    def ordered(self) -> list[JobSpec]:
        """Jobs in dependency order (declaration order among independent jobs)."""
        done: list[JobSpec] = []
        pending = list(self.jobs)
        while pending:
            ready = [job for job in pending if set(job.depends_on) <= {d.name for d in done}]
            if not ready:
                raise ValueError(f"dependency cycle among {[job.name for job in pending]}")
            done.append(ready[0])
            pending.remove(ready[0])
        return done

    def select(self, only: Iterable[str] | None) -> list[JobSpec]:
        """The jobs to run, in order: all of them, or just those named."""
        if only is None:
            return self.ordered()
        wanted = {self.get(name).name for name in only}
        return [job for job in self.ordered() if job.name in wanted]


def load_entrypoint(job: JobSpec) -> JobFunction:
    module_name, _, function_name = job.entrypoint.partition(":")
    function: JobFunction = getattr(importlib.import_module(module_name), function_name)
    return function


def run_job(job: JobSpec, context: JobContext) -> JobReport:
    """One job, timed: a user error is a failed job with its message (and details) in the report."""
    started = utc_now()
    clock = time.monotonic()
    try:
        result = load_entrypoint(job)(context)
    except UserError as exc:
        result = JobReport(job=job.name, status="failed", error=str(exc), details=exc.details)
    result.started_at = started
    result.finished_at = utc_now()
    result.seconds = round(time.monotonic() - clock, 3)
    return result


WORKFLOW = Workflow(
    jobs=(
        JobSpec(
            name="ingest",
            entrypoint="bi_ingest.job:run",
            description="Extract the source tables incrementally into Bronze Parquet",
            runtime="python",
            # A Glue 5 job on the smallest size, not a Python shell job: Python shell runs Python 3.9,
            # and the packages need 3.11 (the Glue 5 runtime). These sizes are the daily run's (a day
            # of orders: thousands of rows); a stack overrides what it must, a backfill run is started
            # with more workers. Flex costs a third less but may start late or be stopped and retried:
            # silver, the longest job, stays standard so the daily run's length is predictable.
            glue=GlueSizing(
                job_type="glueetl", worker_type="G.1X", workers=2, flex=True, timeout_minutes=30, retries=1
            ),
            writes=("bronze",),
            reads_source=True,
        ),
        JobSpec(
            name="silver",
            entrypoint="bi_transform.silver.job:run",
            description="Conform the new Bronze runs into Silver facts and dimensions, quarantining bad rows",
            runtime="spark",
            glue=GlueSizing(job_type="glueetl", worker_type="G.1X", workers=2, timeout_minutes=60, retries=1),
            depends_on=("ingest",),
            reads=("bronze",),
            writes=("silver",),
        ),
        JobSpec(
            name="gold",
            entrypoint="bi_transform.gold.job:run",
            description="Rebuild the Gold aggregates of the months Silver changed, and the customer snapshot",
            runtime="spark",
            glue=GlueSizing(
                job_type="glueetl", worker_type="G.1X", workers=2, flex=True, timeout_minutes=60, retries=1
            ),
            depends_on=("silver",),
            reads=("silver",),
            writes=("gold",),
        ),
    )
)
