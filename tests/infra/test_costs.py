"""The cost model: Glue DPU-seconds at the deployed sizes, with Glue's start, the offline install and
the one-minute minimum, plus requests; a month with the stack's fixed costs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bi_infra import costs
from bi_infra.config import JobSize, ScaleToZero, declared_size, load_stack_file
from bi_infra.costs import (
    GLUE_DPU_HOUR,
    dashboard_monthly_costs,
    job_cost,
    main,
    requests_cost,
    run_cost,
    stack_config,
    up_hours_per_month,
)
from bi_lake.errors import UserError
from tests.infra.conftest import EXISTING_GROUP, EXISTING_SUBNET

ROOT = Path(__file__).resolve().parents[2]


def size(**values: object) -> JobSize:
    """A job size: the declared ingest job's, changed where a test says."""
    return declared_size("ingest").model_copy(update={"flex": False, **values})


def overhead(job: str) -> float:
    return costs.GLUE_START_SECONDS + costs.INSTALL_SECONDS[job]


def test_a_job_bills_its_dpus_for_its_start_install_and_work_at_its_class_price() -> None:
    standard = job_cost("silver", size(worker_type="G.2X", workers=4, flex=False), 90)
    assert standard.dpu == 8 and standard.billed_seconds == 90 + overhead("silver")
    assert standard.usd == pytest.approx(8 * (90 + overhead("silver")) / 3600 * GLUE_DPU_HOUR["STANDARD"])
    flex = job_cost("gold", size(workers=2, flex=True), 90)
    assert flex.usd == pytest.approx(2 * (90 + overhead("gold")) / 3600 * 0.29)
    assert costs.GLUE_START_SECONDS > 0 and all(
        costs.INSTALL_SECONDS[j] > 0 for j in ("ingest", "silver", "gold")
    )


def test_a_short_job_is_billed_the_one_minute_minimum() -> None:
    assert job_cost("ingest", size(workers=2), 1).billed_seconds == 60


def test_a_run_adds_the_jobs_and_the_requests() -> None:
    sizes = {"ingest": size(workers=2, flex=True), "silver": size(workers=2), "gold": size(workers=2)}
    jobs, total = run_cost(sizes, {"ingest": 30, "silver": 120, "gold": 60})
    assert [job.job for job in jobs] == ["ingest", "silver", "gold"]
    assert total == pytest.approx(sum(job.usd for job in jobs) + requests_cost())
    assert 0 < requests_cost() < 0.01


def test_a_month_adds_the_stacks_fixed_costs() -> None:
    fixed = costs.fixed_monthly_costs(stack_config("prod"))
    # Six interface endpoints in the connection's zone: what the stack pays instead of a NAT.
    assert fixed["interface endpoints"] == pytest.approx(6 * 730 * costs.INTERFACE_ENDPOINT_HOUR)
    assert fixed["custom metrics"] == pytest.approx(10 * costs.CUSTOM_METRIC_MONTH)
    assert {"KMS key", "secret", "freshness alarm", "operations dashboard", "logs"} <= set(fixed)


def test_the_command_prints_each_stack_at_each_scale_per_run_and_per_month(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    printed = capsys.readouterr().out
    rows = [line.split() for line in printed.splitlines()[1:5]]
    assert [(row[0], row[1]) for row in rows] == [
        ("dev", "1x"),
        ("dev", "10x"),
        ("prod", "1x"),
        ("prod", "10x"),
    ]
    for stack, scale, run, runs, fixed, dashboard, month in rows:
        config = stack_config(stack)
        sizes = {job: config.job_size(job) for job in ("ingest", "silver", "gold")}
        expected_run = run_cost(sizes, costs.DAILY_WORK_SECONDS[int(scale.removesuffix("x"))])[1]
        assert float(run) == pytest.approx(expected_run, abs=1e-4)
        assert float(dashboard) == pytest.approx(sum(dashboard_monthly_costs(config).values()), abs=0.01)
        assert float(month) == pytest.approx(
            int(runs) * expected_run + float(fixed) + float(dashboard), abs=0.01
        )
    assert "dev dashboard a month" in printed and "prod dashboard" not in printed


def _schedule(down: str, up: str, **values: object) -> ScaleToZero:
    return ScaleToZero.model_validate({"downCron": down, "upCron": up, **values})


@pytest.mark.parametrize(
    ("down", "up", "hours_a_week"),
    [
        ("cron(0 19 ? * MON-FRI *)", "cron(0 7 ? * MON-FRI *)", 5 * 12),
        ("cron(0 20 * * ? *)", "cron(30 8 * * ? *)", 7 * 11.5),
        # Off from Friday evening to Monday morning: the week wraps around Sunday.
        ("cron(0 18 ? * FRI *)", "cron(0 6 ? * MON *)", 4 * 24 + 12),
        ("cron(0 22 ? * 2-6 *)", "cron(0 6 ? * 2-6 *)", 5 * 16),
    ],
)
def test_the_dashboard_runs_from_each_scale_up_to_the_next_scale_down(
    down: str, up: str, hours_a_week: float
) -> None:
    assert up_hours_per_month(_schedule(down, up)) == pytest.approx(hours_a_week * 730 / 168)


def test_a_schedule_the_model_cannot_read_needs_its_hours_said() -> None:
    monthly = _schedule("cron(0 19 L * ? *)", "cron(0 7 1 * ? *)")
    with pytest.raises(UserError, match="upHoursPerMonth"):
        up_hours_per_month(monthly)
    assert up_hours_per_month(monthly.model_copy(update={"up_hours_per_month": 400.0})) == 400.0


def test_the_dashboard_month_is_its_tasks_hours_and_what_stands_all_month() -> None:
    dev = stack_config("dev")
    settings = dev.dashboard
    assert settings is not None and settings.scale_to_zero is not None
    dashboard = dashboard_monthly_costs(dev)
    hours = up_hours_per_month(settings.scale_to_zero)
    assert hours < 730
    assert dashboard["Fargate vCPU"] == pytest.approx(hours * settings.cpu / 1024 * costs.FARGATE_VCPU_HOUR)
    assert dashboard["Fargate memory"] == pytest.approx(
        hours * settings.memory / 1024 * costs.FARGATE_GB_HOUR
    )
    assert dashboard["load balancer"] == pytest.approx(730 * (costs.LOAD_BALANCER_HOUR + costs.LCU_HOUR))
    assert dashboard["NAT gateway"] == pytest.approx(730 * costs.NAT_GATEWAY_HOUR)
    assert dashboard["ECR endpoints"] == pytest.approx(2 * 730 * costs.INTERFACE_ENDPOINT_HOUR)
    # The load balancer's address in each zone and the NAT's.
    assert dashboard["public IPv4"] == pytest.approx(3 * 730 * costs.PUBLIC_IPV4_HOUR)
    assert dashboard["image storage"] == pytest.approx(
        settings.keep_images * costs.IMAGE_GB * costs.ECR_GB_MONTH
    )
    assert dashboard["user pool"] == 0.0
    assert dashboard_monthly_costs(stack_config("prod")) == {}


def test_in_an_existing_network_the_nat_and_endpoints_are_its_owners() -> None:
    dev = stack_config("dev")
    assert dev.dashboard is not None
    existing = load_stack_file(
        "dev",
        {
            "network": {"mode": "existing", "subnetId": EXISTING_SUBNET, "securityGroupId": EXISTING_GROUP,
                        "availabilityZone": "eu-west-1a"},
            "dashboard": dev.dashboard.model_dump(by_alias=True, exclude_none=True) | {"network": {
                "vpcId": "vpc-0aaaaaaaaaaaaaaa1", "loadBalancerSubnetIds": [EXISTING_SUBNET, EXISTING_SUBNET],
                "taskSubnetIds": [EXISTING_SUBNET]}},
        },
    )  # fmt: skip
    dashboard = dashboard_monthly_costs(existing)
    assert dashboard["NAT gateway"] == 0 and dashboard["ECR endpoints"] == 0
    assert dashboard["public IPv4"] == pytest.approx(2 * 730 * costs.PUBLIC_IPV4_HOUR)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stacks_budget_covers_its_modelled_month_at_ten_times_the_data(stack: str) -> None:
    config = stack_config(stack)
    sizes = {job: config.job_size(job) for job in ("ingest", "silver", "gold")}
    month = (
        costs.RUNS_PER_MONTH * run_cost(sizes, costs.DAILY_WORK_SECONDS[10])[1]
        + sum(costs.fixed_monthly_costs(config).values())
        + sum(dashboard_monthly_costs(config).values())
    )
    assert month < config.monthly_budget_usd


def test_the_command_prints_one_run_and_refuses_a_missing_job(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--seconds", "ingest=60,silver=95,gold=62"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["job", "ingest", "silver", "gold", "requests", "total"]
    with pytest.raises(SystemExit):
        main(["--stack", "dev", "--seconds", "ingest=60"])


@pytest.mark.e2e  # a virtualenv and an install from the wheels
def test_the_cost_model_runs_from_a_deploy_install(tmp_path: Path) -> None:
    """bi-infra with exactly its declared dependencies, as a deploy job installs it, not the workspace."""
    uv = shutil.which("uv")
    assert uv is not None
    requirements = tmp_path / "requirements.txt"
    subprocess.run(
        [uv, "export", "--frozen", "--no-dev", "--package", "bi-infra", "--no-hashes", "-o", str(requirements)],
        check=True, cwd=ROOT, capture_output=True, timeout=300,
    )  # fmt: skip
    venv = tmp_path / "deploy"
    subprocess.run([uv, "venv", "-q", "--python", "3.11", str(venv)], check=True, timeout=300)
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r", str(requirements)],
        check=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    printed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "bi_infra.costs"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    assert "prod" in printed.stdout and "interface endpoints" in printed.stdout
