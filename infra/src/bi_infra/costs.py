"""What the pipeline costs on AWS: a daily run from each job's size and time, and a month with the
stack's fixed costs. The cost model.

    uv run python -m bi_infra.costs                       # dev and prod, 1x and 10x, per run and per month
    uv run python -m bi_infra.costs --stack prod --seconds ingest=60,silver=95,gold=62   # one run

A Glue job run is billed per second, one minute at least, from its start: Glue's own start of the
job (`GLUE_START_SECONDS`), the offline install of the job's wheelhouse (`INSTALL_SECONDS`, measured
by the Glue 5 parity test) and the job's work. A G.1X worker is one DPU, G.2X two, and so on; Flex
bills at a lower rate.

    job   = workers x DPU(worker type) x max(start + install + work, 60) / 3600 x price(class)
    run   = sum of the jobs + S3 and KMS requests
    month = runs a month x run + the stack's fixed costs (endpoints, key, secret, alarm, metrics,
            dashboard, logs) + the Streamlit dashboard's, when the stack serves it

The Streamlit dashboard (`bi:dashboard`) costs by the hour, run or no run: its tasks while they run
(Fargate vCPU-hours and GB-hours; out of hours none with `scaleToZero`), and, all month, the load
balancer (one LCU assumed: a few users' connections and bytes stay far below it), its two public
addresses, and in a network the stack creates the NAT gateway with its address and the two ECR
interface endpoints (one zone each). Image storage is `keepImages` images at an estimated size, an
upper figure since images share their base layers. The stack's user pool is free below 10,000
monthly active users. The NAT's and endpoints' per-GB charges are left out: the tasks fetch a
signing key and pull an image now and then. The figure is for the service once an image is
deployed (with no `imageTag` it runs no task).

The hours the tasks run follow the two `scaleToZero` crons when each is a time of day on some days
of the week (`cron(0 7 ? * MON-FRI *)`); otherwise `upHoursPerMonth` says it. A month is 730 hours
(52 weeks / 12), so a week's hours count 730 / 168 times; daylight-saving shifts are ignored.

The jobs' work is the benchmark's incremental stage time on this project's 2-core machine
(`bench/run.py`, a day added to a year of orders): Glue's G.1X workers have 4 vCPUs each, so this
is a cautious figure until a deployed run's times replace it. Prices are eu-west-1 list prices in USD;
the dashboard's as published in 2025 (Linux/x86 Fargate, on-demand).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bi_infra.config import JobSize, ScaleToZero, StackConfig, load_stack_file
from bi_infra.network import DASHBOARD_INTERFACE_ENDPOINTS, INTERFACE_ENDPOINTS
from bi_lake import run_metrics
from bi_lake.errors import UserError
from bi_lake.workflow import WORKFLOW

GLUE_DPU_HOUR = {"STANDARD": 0.44, "FLEX": 0.29}
DPU_PER_WORKER = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
GLUE_MINIMUM_SECONDS = 60
# Glue 5 starts a job's driver in seconds (an estimate: provisioning before that is not billed).
GLUE_START_SECONDS = 10.0
# The offline install of each job's zip of wheels into Glue 5's Python, as the parity test measured it
# on the 2-core machine with nothing else running (ingest's 62.7 MB zip, silver's and gold's 49.1 MB).
INSTALL_SECONDS = {"ingest": 14.0, "silver": 12.0, "gold": 12.0}
S3_PUT_PER_1000 = 0.005
S3_GET_PER_1000 = 0.0004
KMS_PER_10000 = 0.03
# Requests of one daily run at the default size: a few hundred objects written (Bronze parts,
# Silver's and Gold's touched partitions, manifests, state, reports), ten times as many read.
DAILY_PUTS = 300
DAILY_GETS = 3000
DAILY_KMS_REQUESTS = 200
RUNS_PER_MONTH = 30
HOURS_PER_MONTH = 730

# The benchmark's incremental run (one day added), per stage, at the default size and at 10x.
DAILY_WORK_SECONDS = {
    1: {"ingest": 2.3, "silver": 80.0, "gold": 50.1},
    10: {"ingest": 4.0, "silver": 96.5, "gold": 88.1},
}

# Fixed monthly costs, per stack.
INTERFACE_ENDPOINT_HOUR = 0.011  # per endpoint and availability zone
KMS_KEY_MONTH = 1.0
SECRET_MONTH = 0.40
ALARM_MONTH = 0.10  # a standard-resolution alarm
CUSTOM_METRIC_MONTH = 0.30
DASHBOARD_MONTH = 3.0  # beyond an account's first three
LOGS_INGESTED_GB = 0.57
LOGS_STORED_GB_MONTH = 0.03
LOG_GB_PER_RUN = 0.005  # the three jobs' driver and executor logs at the default size

# The Streamlit dashboard's (bi:dashboard).
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445
LOAD_BALANCER_HOUR = 0.0252
LCU_HOUR = 0.008
LOAD_BALANCER_LCUS = 1
LOAD_BALANCER_ZONES = 2  # an address in each zone's public subnet
PUBLIC_IPV4_HOUR = 0.005
NAT_GATEWAY_HOUR = 0.048
ECR_GB_MONTH = 0.10
# The dashboard image as ECR stores it (compressed): Python with Streamlit, DuckDB, pandas and pyarrow,
# about 400 MB unpacked. An estimate until a pushed image's size replaces it.
IMAGE_GB = 0.2
COGNITO_FREE_MONTHLY_ACTIVE_USERS = 10_000
HOURS_PER_WEEK = 7 * 24
# Application Auto Scaling's day-of-week numbers start at Sunday (1).
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class JobCost:
    job: str
    dpu: int
    billed_seconds: float
    execution_class: str
    usd: float

    @property
    def dpu_seconds(self) -> float:
        return self.dpu * self.billed_seconds


def job_cost(job: str, size: JobSize, work_seconds: float) -> JobCost:
    dpu = size.workers * DPU_PER_WORKER[size.worker_type]
    billed = max(GLUE_START_SECONDS + INSTALL_SECONDS.get(job, 0.0) + work_seconds, GLUE_MINIMUM_SECONDS)
    execution_class = "FLEX" if size.flex else "STANDARD"
    return JobCost(job, dpu, billed, execution_class, dpu * billed / 3600 * GLUE_DPU_HOUR[execution_class])


def requests_cost(puts: int = DAILY_PUTS, gets: int = DAILY_GETS, kms: int = DAILY_KMS_REQUESTS) -> float:
    return puts / 1000 * S3_PUT_PER_1000 + gets / 1000 * S3_GET_PER_1000 + kms / 10000 * KMS_PER_10000


def run_cost(sizes: Mapping[str, JobSize], seconds: Mapping[str, float]) -> tuple[list[JobCost], float]:
    """Each job's cost and the run's total, requests included."""
    jobs = [job_cost(job, sizes[job], seconds[job]) for job in sizes]
    return jobs, sum(job.usd for job in jobs) + requests_cost()


def fixed_monthly_costs(config: StackConfig) -> dict[str, float]:
    """What the stack costs a month whether or not it runs, and its logs."""
    # The stack's endpoints stand in the connection's zone only; an existing network's are its owner's.
    zones = 1 if config.network.mode == "create" else 0
    metrics = len(run_metrics.JOB_METRICS) * len(WORKFLOW.names) + len(run_metrics.STACK_METRICS)
    return {
        "interface endpoints": len(INTERFACE_ENDPOINTS) * zones * HOURS_PER_MONTH * INTERFACE_ENDPOINT_HOUR,
        "KMS key": KMS_KEY_MONTH,
        "secret": SECRET_MONTH,
        "freshness alarm": ALARM_MONTH,
        "custom metrics": metrics * CUSTOM_METRIC_MONTH,
        "operations dashboard": DASHBOARD_MONTH,
        "logs": RUNS_PER_MONTH * LOG_GB_PER_RUN * (LOGS_INGESTED_GB + LOGS_STORED_GB_MONTH),
    }


def _weekday(text: str) -> int | None:
    if text.upper() in WEEKDAYS:
        return WEEKDAYS.index(text.upper())
    return int(text) - 1 if text.isdigit() and 1 <= int(text) <= len(WEEKDAYS) else None


def _weekdays(field: str) -> set[int] | None:
    if field in {"*", "?"}:
        return set(range(len(WEEKDAYS)))
    days: set[int] = set()
    for part in field.split(","):
        first, _, last = part.partition("-")
        low, high = _weekday(first), _weekday(last or first)
        if low is None or high is None:
            return None
        days |= set(range(low, high + 1)) if low <= high else {*range(low, 7), *range(high + 1)}
    return days


def weekly_minutes(cron: str) -> list[int] | None:
    """The minutes of the week (from Sunday 00:00) a cron fires at, when it is a time of day on some
    days of the week; None for anything else."""
    fields = cron.removeprefix("cron(").removesuffix(")").split()
    if len(fields) != 6:
        return None
    minute, hour, day_of_month, month, day_of_week, year = fields
    if not (minute.isdigit() and hour.isdigit()) or day_of_month not in {"*", "?"} or {month, year} != {"*"}:
        return None
    days = _weekdays(day_of_week)
    if days is None:
        return None
    return sorted(day * 24 * 60 + int(hour) * 60 + int(minute) for day in days)


def up_hours_per_month(schedule: ScaleToZero) -> float:
    """How long the tasks run a month: from each `upCron` firing to the next `downCron` one."""
    if schedule.up_hours_per_month is not None:
        return schedule.up_hours_per_month
    ups, downs = weekly_minutes(schedule.up_cron), weekly_minutes(schedule.down_cron)
    if not ups or not downs:
        raise UserError(
            "the cost model reads bi:dashboard.scaleToZero crons that are a time of day on some days of the "
            "week: for others, set bi:dashboard.scaleToZero.upHoursPerMonth"
        )
    events = sorted([(minute, True) for minute in ups] + [(minute, False) for minute in downs])
    week = HOURS_PER_WEEK * 60
    up_minutes = 0
    for index, (minute, scales_up) in enumerate(events):
        following = events[(index + 1) % len(events)][0] + (week if index + 1 == len(events) else 0)
        if scales_up:
            up_minutes += following - minute
    return up_minutes / 60 * HOURS_PER_MONTH / HOURS_PER_WEEK


def dashboard_monthly_costs(config: StackConfig) -> dict[str, float]:
    """What the Streamlit dashboard costs a month once an image is deployed; nothing without one."""
    settings = config.dashboard
    if settings is None:
        return {}
    running = up_hours_per_month(settings.scale_to_zero) if settings.scale_to_zero else HOURS_PER_MONTH
    task_hours = settings.desired_count * running
    # The NAT and the ECR endpoints of an existing network are its owner's.
    created = config.network.mode == "create"
    costs = {
        "Fargate vCPU": task_hours * settings.cpu / 1024 * FARGATE_VCPU_HOUR,
        "Fargate memory": task_hours * settings.memory / 1024 * FARGATE_GB_HOUR,
        "load balancer": HOURS_PER_MONTH * (LOAD_BALANCER_HOUR + LOAD_BALANCER_LCUS * LCU_HOUR),
        "public IPv4": (LOAD_BALANCER_ZONES + created) * HOURS_PER_MONTH * PUBLIC_IPV4_HOUR,
        "NAT gateway": created * HOURS_PER_MONTH * NAT_GATEWAY_HOUR,
        "ECR endpoints": created
        * len(DASHBOARD_INTERFACE_ENDPOINTS)
        * HOURS_PER_MONTH
        * INTERFACE_ENDPOINT_HOUR,
        "image storage": settings.keep_images * IMAGE_GB * ECR_GB_MONTH,
    }
    if settings.cognito:
        # Free below COGNITO_FREE_MONTHLY_ACTIVE_USERS on the pool's Lite tier.
        costs["user pool"] = 0.0
    return costs


def stack_config(stack: str) -> StackConfig:
    return load_stack_file(stack)


def stack_job_sizes(stack: str) -> dict[str, JobSize]:
    """The job sizes a stack deploys: the workflow declaration's with the stack file's overrides."""
    config = stack_config(stack)
    return {job: config.job_size(job) for job in WORKFLOW.names}


def _seconds(text: str) -> dict[str, float]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    try:
        return {name.strip(): float(value) for name, value in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected JOB=SECONDS,... not {text!r}") from None


def _print_run(jobs: list[JobCost], total: float) -> None:
    print(f"{'job':<8} {'DPU':>4} {'billed s':>9} {'class':<9} {'USD':>8}")
    for job in jobs:
        print(
            f"{job.job:<8} {job.dpu:>4} {job.billed_seconds:>9.0f} {job.execution_class:<9} {job.usd:>8.4f}"
        )
    print(f"{'requests':<33} {requests_cost():>8.4f}")
    print(f"{'total':<33} {total:>8.4f}")


def _print_overview(stacks: Sequence[str]) -> None:
    print(
        f"{'stack':<6} {'scale':>5} {'run USD':>9} {'runs/month':>11} {'fixed USD':>10} "
        f"{'dashboard USD':>14} {'month USD':>10}"
    )
    configs = {stack: stack_config(stack) for stack in stacks}
    for stack, config in configs.items():
        sizes = {job: config.job_size(job) for job in WORKFLOW.names}
        fixed = sum(fixed_monthly_costs(config).values())
        dashboard = sum(dashboard_monthly_costs(config).values())
        for scale, seconds in DAILY_WORK_SECONDS.items():
            _, run = run_cost(sizes, seconds)
            month = RUNS_PER_MONTH * run + fixed + dashboard
            print(
                f"{stack:<6} {scale:>4}x {run:>9.4f} {RUNS_PER_MONTH:>11} {fixed:>10.2f} "
                f"{dashboard:>14.2f} {month:>10.2f}"
            )
    print()
    print("fixed monthly costs, per stack:")
    for item, usd in fixed_monthly_costs(configs[stacks[0]]).items():
        print(f"  {item:<22} {usd:>8.2f}")
    for stack, config in configs.items():
        settings = config.dashboard
        if settings is None:
            continue
        hours = up_hours_per_month(settings.scale_to_zero) if settings.scale_to_zero else HOURS_PER_MONTH
        print()
        print(
            f"{stack} dashboard a month ({settings.desired_count} x {settings.cpu / 1024:g} vCPU, "
            f"{settings.memory / 1024:g} GB, {hours:.0f} hours):"
        )
        for item, usd in dashboard_monthly_costs(config).items():
            print(f"  {item:<22} {usd:>8.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="What the pipeline costs on AWS (Glue, S3, KMS, CloudWatch) and the dashboard's service."
    )
    parser.add_argument("--stack", help="a stack file of infra/ (default: dev and prod)")
    parser.add_argument(
        "--seconds", type=_seconds, help="JOB=SECONDS for every job: the cost of that one run"
    )
    args = parser.parse_args(argv)
    if args.seconds is None:
        _print_overview([args.stack] if args.stack else ["dev", "prod"])
        return 0
    sizes = stack_job_sizes(args.stack or "prod")
    missing = set(sizes) - set(args.seconds)
    if missing:
        parser.error(f"--seconds needs every job: missing {', '.join(sorted(missing))}")
    _print_run(*run_cost(sizes, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
