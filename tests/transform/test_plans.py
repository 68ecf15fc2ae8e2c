"""Silver and Gold never bring every row of a table to one task, whatever the size of the business.

Spark shows such a step as an `Exchange SinglePartition` in a physical plan: a window or a sort with no
partitioning key puts it there, and at a hundred times the data it is the first task to run out of
memory on a cluster. The one exchange of that kind that is harmless is the last step of an aggregate
without grouping keys (a count, a min and max), which moves a single row from each task.

Every Spark job the run starts must belong to a SQL execution whose plan the session's own status
store recorded, so no action escapes the check (an RDD job would, for instance).

The small source goes through the pipeline twice for this module, a first run and an incremental one
after a day is added, so the plans of both paths are checked: building every table, and merging the
dimensions and taking Gold's kept rows. A plan's exchanges follow from its steps, not from the size of
the data (a window without a partitioning key needs every row in one task at any size).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from bi_lake.settings import Settings
from bi_source.generator import add_days
from tests.conftest import sqlite_url
from tests.running import run_pipeline

SINGLE_PARTITION = "Exchange SinglePartition"
# Jobs that may run outside a SQL execution, by the name Spark gives them (the call that started them),
# and why they may. Writing Parquet has the same name, but a write is always a SQL execution.
OUTSIDE_EXECUTIONS = {
    "parquet at ": "defining a frame over Parquet files reads their footers for its schema: no row is "
    "read, so none moves",
}
# The aggregates Spark plans without grouping keys: their partial step leaves one row per task.
UNGROUPED_AGGREGATES = tuple(
    f"{name}(keys=[]," for name in ("HashAggregate", "ObjectHashAggregate", "SortAggregate")
)


@dataclass
class Execution:
    """One SQL execution: its id, what ran it, its plan as last adapted, and the jobs it started."""

    id: int
    description: str
    plan: str
    jobs: set[int]


@dataclass
class Recorded:
    executions: list[Execution] = field(default_factory=list)
    # Job id -> its name (the call that started it), for every job started while recording.
    jobs: dict[int, str] = field(default_factory=dict)


def _node(line: str) -> str:
    """A plan line without its tree drawing and code-generation stage: the node's own text."""
    text = line.lstrip(" :+-")
    if text.startswith("*("):
        text = text.split(") ", 1)[1]
    return text


def rows_to_one_task(plan: str) -> list[str]:
    """Each `Exchange SinglePartition` of a plan that moves more than one row per task, shown with the
    two nodes above it (what asked for it) and its child (the next line: an exchange has one child).
    AQE's final and initial plans both show it: each is listed once."""
    lines = [line for line in plan.splitlines() if "QueryStage" not in _node(line)]
    found: list[str] = []
    for number, line in enumerate(lines):
        if SINGLE_PARTITION not in line:
            continue
        child = _node(lines[number + 1]) if number + 1 < len(lines) else ""
        if child.startswith(UNGROUPED_AGGREGATES):
            continue
        above = [_node(lines[n])[:160] for n in range(max(number - 2, 0), number)]
        step = "\n    <- ".join([*above, _node(line)[:80], child[:160]])
        step = re.sub(r"\[plan_id=\d+\]", "", step)
        if step not in found:
            found.append(step)
    return found


def _all(seq: Any) -> list[Any]:
    """A Scala Seq's elements."""
    return [seq.apply(i) for i in range(seq.size())]


@contextmanager
def recorded(spark: SparkSession) -> Iterator[Recorded]:
    """The SQL executions and Spark jobs that run inside the block, from the session's status stores
    (kept whether or not the UI is on), with plans printed as trees. Fails if the stores dropped any
    of them: they keep a bounded number, oldest out first."""
    jvm_context = spark.sparkContext._jsc.sc()
    sql_store = spark._jsparkSession.sharedState().statusStore()
    app_store = jvm_context.statusStore()

    def settled() -> tuple[list[Any], list[Any]]:
        # The stores are filled from the listener bus, after the events.
        jvm_context.listenerBus().waitUntilEmpty()
        return _all(sql_store.executionsList()), _all(app_store.jobsList(None))

    executions, jobs = settled()
    # Ids are handed out in sequence: everything after the last one seen is the block's.
    last_execution = max((e.executionId() for e in executions), default=-1)
    last_job = max((j.jobId() for j in jobs), default=-1)
    mode = spark.conf.get("spark.sql.ui.explainMode") or "formatted"
    spark.conf.set("spark.sql.ui.explainMode", "simple")
    record = Recorded()
    try:
        yield record
    finally:
        spark.conf.set("spark.sql.ui.explainMode", mode)
    executions, jobs = settled()
    for e in executions:
        if e.executionId() > last_execution:
            started = {int(job) for job in e.jobs().keys().mkString(",").split(",") if job}
            record.executions.append(
                Execution(e.executionId(), e.description(), e.physicalPlanDescription(), started)
            )
    for job in jobs:
        if job.jobId() > last_job:
            record.jobs[job.jobId()] = job.name()
    ids = [e.id for e in record.executions]
    assert sorted(ids) == list(range(last_execution + 1, max(ids, default=last_execution) + 1)), (
        "the status store dropped executions"
    )
    assert sorted(record.jobs) == list(range(last_job + 1, max(record.jobs, default=last_job) + 1)), (
        "the status store dropped jobs"
    )


def _violations(record: Recorded) -> list[str]:
    return [
        f"execution {e.id} ({e.description}):\n  " + step
        for e in record.executions
        for step in rows_to_one_task(e.plan)
    ]


@pytest.mark.spark
def test_the_check_sees_a_window_over_every_row_and_spares_a_count(spark: SparkSession) -> None:
    frame: DataFrame = spark.range(100).withColumn("group", F.col("id") % 3)
    with recorded(spark) as record:
        frame.count()
        frame.agg(F.min("id"), F.count_distinct("group")).collect()
        frame.groupBy("group").agg(F.sum("id")).collect()
    assert len(record.executions) == 3 and not _violations(record)
    with recorded(spark) as record:
        frame.withColumn("rank", F.percent_rank().over(Window.orderBy("id"))).collect()
    violations = _violations(record)
    assert len(violations) == 1 and "Window [percent_rank" in violations[0], violations
    assert "<- Exchange SinglePartition" in violations[0]


@pytest.fixture(scope="module")
def recorded_runs(
    spark: SparkSession, small_source_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Recorded:
    """A first run and an incremental one (a day added) of a copy of the small source, through Gold,
    every plan of both recorded; read only."""
    folder = tmp_path_factory.mktemp("recorded-runs")
    source = shutil.copy(small_source_file, folder / "source.db")
    settings = Settings(source_url=sqlite_url(Path(source)), lake=str(folder / "lake"))
    with recorded(spark) as record:
        first = run_pipeline(settings)
        engine = sa.create_engine(settings.source_url)
        add_days(engine, 1, seed_value=3)
        engine.dispose()
        second = run_pipeline(settings)
    for report in (first, second):
        assert report.status == "succeeded", report.error
    # The second run is incremental: it rebuilds the added day's partitions and those of its late rows.
    touched = [
        next(j for j in r.jobs if j.job == "silver").details["touched_partitions"] for r in (first, second)
    ]
    assert 0 < touched[1] < touched[0], touched
    return record


@pytest.mark.e2e
def test_silver_and_gold_bring_no_table_to_one_task(recorded_runs: Recorded) -> None:
    record = recorded_runs
    descriptions = {e.description for e in record.executions}
    assert {"silver", "gold"} <= descriptions, descriptions
    violations = _violations(record)
    # Every job the run started was part of an execution whose plan is checked, or is known harmless.
    seen = set().union(*(e.jobs for e in record.executions))
    unseen = {
        job: call
        for job, call in record.jobs.items()
        if job not in seen and not call.startswith(tuple(OUTSIDE_EXECUTIONS))
    }
    assert not violations and not unseen, (
        "steps that bring every row to one task:\n"
        + "\n".join(violations)
        + f"\njobs outside any recorded SQL execution: {unseen}"
    )
