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
            dashboard, logs)

The jobs' work is the benchmark's incremental stage time on this project's 2-core machine
(`bench/run.py`, a day added to a year of orders): Glue's G.1X workers have 4 vCPUs each, so this
is a cautious figure until a deployed run's times replace it. Prices are eu-west-1 list prices in USD.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bi_infra.config import JobSize, StackConfig, load_stack_file
from bi_infra.network import INTERFACE_ENDPOINTS
from bi_lake import run_metrics
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
    print(f"{'stack':<6} {'scale':>5} {'run USD':>9} {'runs/month':>11} {'fixed USD':>10} {'month USD':>10}")
    for stack in stacks:
        config = stack_config(stack)
        sizes = {job: config.job_size(job) for job in WORKFLOW.names}
        fixed = sum(fixed_monthly_costs(config).values())
        for scale, seconds in DAILY_WORK_SECONDS.items():
            _, run = run_cost(sizes, seconds)
            month = RUNS_PER_MONTH * run + fixed
            print(f"{stack:<6} {scale:>4}x {run:>9.4f} {RUNS_PER_MONTH:>11} {fixed:>10.2f} {month:>10.2f}")
    print()
    print("fixed monthly costs, per stack:")
    for item, usd in fixed_monthly_costs(stack_config(stacks[0])).items():
        print(f"  {item:<22} {usd:>8.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="What the pipeline costs on AWS Glue, S3, KMS and CloudWatch."
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
