"""What one pipeline run costs on AWS, from each job's size and run time: the cost model.

    uv run python -m bi_infra.costs --stack prod --seconds ingest=60,silver=95,gold=62

Glue bills DPU-hours per second with a one-minute minimum per run (Glue 5); a G.1X worker is one
DPU, G.2X two, and so on; Flex runs bill at a lower rate. S3 bills requests per thousand, KMS per
ten thousand (bucket keys make S3 ask KMS once per bucket and data key, not per object).

    run = sum over jobs of  workers x DPU(worker type) x max(seconds, 60) / 3600 x price(execution class)
        + PUTs / 1000 x S3 PUT price + GETs / 1000 x S3 GET price + KMS requests / 10000 x KMS price
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bi_infra.config import JobSize
from bi_lake.workflow import WORKFLOW

# List prices in USD (eu-west-1 and us-east-1 are the same for these).
GLUE_DPU_HOUR = {"STANDARD": 0.44, "FLEX": 0.29}
DPU_PER_WORKER = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
GLUE_MINIMUM_SECONDS = 60
S3_PUT_PER_1000 = 0.005
S3_GET_PER_1000 = 0.0004
KMS_PER_10000 = 0.03
# Requests of one daily run at the default size: a few hundred objects written (Bronze parts,
# Silver's and Gold's touched partitions, manifests, state, reports), ten times as many read.
DAILY_PUTS = 300
DAILY_GETS = 3000
DAILY_KMS_REQUESTS = 200


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


def job_cost(job: str, size: JobSize, seconds: float) -> JobCost:
    dpu = size.workers * DPU_PER_WORKER[size.worker_type]
    billed = max(seconds, GLUE_MINIMUM_SECONDS)
    execution_class = "FLEX" if size.flex else "STANDARD"
    return JobCost(job, dpu, billed, execution_class, dpu * billed / 3600 * GLUE_DPU_HOUR[execution_class])


def requests_cost(puts: int = DAILY_PUTS, gets: int = DAILY_GETS, kms: int = DAILY_KMS_REQUESTS) -> float:
    return puts / 1000 * S3_PUT_PER_1000 + gets / 1000 * S3_GET_PER_1000 + kms / 10000 * KMS_PER_10000


def run_cost(sizes: Mapping[str, JobSize], seconds: Mapping[str, float]) -> tuple[list[JobCost], float]:
    """Each job's cost and the run's total, requests included."""
    jobs = [job_cost(job, sizes[job], seconds[job]) for job in sizes]
    return jobs, sum(job.usd for job in jobs) + requests_cost()


def stack_job_sizes(stack: str) -> dict[str, JobSize]:
    """The job sizes a stack file of infra/ declares (Pulumi.<stack>.yaml), checked as `pulumi up` checks
    them."""
    from ruamel.yaml import YAML

    from bi_infra.config import PROJECT_DIR, parse

    values = YAML(typ="safe").load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    settings = {key.removeprefix("bi:"): value for key, value in values.items() if key.startswith("bi:")}
    config = parse(stack, values["aws:region"], settings)
    return {job: config.job_size(job) for job in WORKFLOW.names}


def _seconds(text: str) -> dict[str, float]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    try:
        return {name.strip(): float(value) for name, value in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected JOB=SECONDS,... not {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The cost of one pipeline run on AWS Glue, S3 and KMS.")
    parser.add_argument("--stack", default="prod", help="a stack file of infra/ (default prod)")
    parser.add_argument("--seconds", type=_seconds, required=True, help="JOB=SECONDS for every job")
    args = parser.parse_args(argv)
    sizes = stack_job_sizes(args.stack)
    missing = set(sizes) - set(args.seconds)
    if missing:
        parser.error(f"--seconds needs every job: missing {', '.join(sorted(missing))}")
    jobs, total = run_cost(sizes, args.seconds)
    print(f"{'job':<8} {'DPU':>4} {'billed s':>9} {'class':<9} {'USD':>8}")
    for job in jobs:
        print(
            f"{job.job:<8} {job.dpu:>4} {job.billed_seconds:>9.0f} {job.execution_class:<9} {job.usd:>8.4f}"
        )
    print(f"{'requests':<33} {requests_cost():>8.4f}")
    print(f"{'total':<33} {total:>8.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
