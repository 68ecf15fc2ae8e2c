"""The workflow declaration: ordered by dependencies, validated, and every entrypoint importable."""

from __future__ import annotations

import pytest

from bi_lake.errors import UserError
from bi_lake.workflow import WORKFLOW, GlueSizing, JobSpec, Workflow, load_entrypoint

SHELL = GlueSizing(job_type="pythonshell", max_capacity=0.0625)


def _job(name: str, *depends_on: str) -> JobSpec:
    return JobSpec(name, "bi_ingest.job:run", name, "python", SHELL, depends_on)


def test_jobs_run_after_their_dependencies() -> None:
    workflow = Workflow((_job("gold", "silver"), _job("ingest"), _job("silver", "ingest")))
    assert [job.name for job in workflow.ordered()] == ["ingest", "silver", "gold"]
    assert [job.name for job in workflow.select(["gold", "ingest"])] == ["ingest", "gold"]


def test_cycles_unknown_dependencies_and_duplicates_are_rejected() -> None:
    with pytest.raises(ValueError, match="cycle"):
        Workflow((_job("a", "b"), _job("b", "a")))
    with pytest.raises(ValueError, match="unknown jobs"):
        Workflow((_job("a", "z"),))
    with pytest.raises(ValueError, match="duplicate"):
        Workflow((_job("a"), _job("a")))


def test_selecting_an_unknown_job_lists_the_real_ones() -> None:
    with pytest.raises(UserError, match="unknown job 'nope'; jobs are: ingest"):
        WORKFLOW.select(["nope"])


def test_every_declared_entrypoint_is_callable() -> None:
    for job in WORKFLOW.jobs:
        assert callable(load_entrypoint(job))
        assert job.glue.job_type in {"pythonshell", "glueetl"}
