"""The cost model: Glue DPU-seconds at the configured sizes with the one-minute minimum, plus requests."""

from __future__ import annotations

import pytest

from bi_infra.config import JobSize, declared_size
from bi_infra.costs import GLUE_DPU_HOUR, job_cost, main, requests_cost, run_cost


def size(**values: object) -> JobSize:
    """A job size: the declared ingest job's, changed where a test says."""
    return declared_size("ingest").model_copy(update={"flex": False, **values})


def test_a_job_bills_its_dpus_for_its_seconds_at_its_class_price() -> None:
    standard = job_cost("silver", size(worker_type="G.2X", workers=4, flex=False), 90)
    assert standard.dpu == 8 and standard.billed_seconds == 90
    assert standard.usd == pytest.approx(8 * 90 / 3600 * GLUE_DPU_HOUR["STANDARD"])
    flex = job_cost("gold", size(workers=2, flex=True), 90)
    assert flex.usd == pytest.approx(2 * 90 / 3600 * 0.29)


def test_a_short_job_is_billed_the_one_minute_minimum() -> None:
    assert job_cost("ingest", size(workers=2), 12).billed_seconds == 60


def test_a_run_adds_the_jobs_and_the_requests() -> None:
    sizes = {
        "ingest": size(workers=2, flex=True),
        "silver": size(workers=2),
        "gold": size(workers=2),
    }
    jobs, total = run_cost(sizes, {"ingest": 30, "silver": 120, "gold": 60})
    assert [job.job for job in jobs] == ["ingest", "silver", "gold"]
    assert total == pytest.approx(sum(job.usd for job in jobs) + requests_cost())
    assert 0 < requests_cost() < 0.01


def test_the_command_prints_every_job_and_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--seconds", "ingest=60,silver=95,gold=62"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["job", "ingest", "silver", "gold", "requests", "total"]
    with pytest.raises(SystemExit):
        main(["--stack", "dev", "--seconds", "ingest=60"])
