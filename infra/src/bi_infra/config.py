"""A stack's settings, typed and checked: `Pulumi.<stack>.yaml` under the `bi:` namespace.

Job sizes are declared once, in the workflow declaration; a stack file overrides only what differs.
Everything a stack names (buckets, roles, jobs) is `<namePrefix>-<stack>-<what>`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from bi_lake.errors import UserError
from bi_lake.workflow import WORKFLOW

PROJECT_DIR = Path(__file__).resolve().parents[2]
BUCKET_NAME_MAX = 63


class _Config(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


WorkerType = Literal["G.1X", "G.2X", "G.4X", "G.8X"]
Workers = Annotated[int, Field(ge=2, le=100)]
TimeoutMinutes = Annotated[int, Field(ge=1, le=2880)]
Retries = Annotated[int, Field(ge=0, le=10)]


class JobSize(_Config):
    """How a Glue job is deployed: the workflow declaration's size with the stack's overrides."""

    worker_type: WorkerType
    workers: Workers
    # Flex runs on spare capacity at a lower price, and may start later: for jobs that can wait.
    flex: bool
    timeout_minutes: TimeoutMinutes
    retries: Retries


class JobOverride(_Config):
    """What a stack changes of a job's declared size (`bi:jobs.<job>`); the rest stays declared."""

    worker_type: WorkerType | None = None
    workers: Workers | None = None
    flex: bool | None = None
    timeout_minutes: TimeoutMinutes | None = None
    retries: Retries | None = None


def declared_size(job: str) -> JobSize:
    """The job's size as the workflow declaration gives it."""
    glue = WORKFLOW.get(job).glue
    return JobSize.model_validate(
        {
            "worker_type": glue.worker_type,
            "workers": glue.workers,
            "flex": glue.flex,
            "timeout_minutes": glue.timeout_minutes,
            "retries": glue.retries,
        }
    )


class NewNetwork(_Config):
    """A network the stack creates: a VPC with private subnets in two zones, no NAT (see network.py)."""

    mode: Literal["create"]
    cidr: str = "10.40.0.0/16"
    availability_zones: list[str] = Field(min_length=2, max_length=2)
    # Where SQL Server answers (an address or range reached from this VPC: peering, VPN, Direct Connect).
    sql_server_cidr: str
    sql_server_port: int = Field(default=1433, ge=1, le=65535)

    @field_validator("cidr", "sql_server_cidr")
    @classmethod
    def _network(cls, value: str) -> str:
        ipaddress.ip_network(value)
        return value


class ExistingNetwork(_Config):
    """A subnet and security group someone else runs, where the ingest job's interface is placed."""

    mode: Literal["existing"]
    subnet_id: str = Field(pattern=r"^subnet-[0-9a-f]{8,17}$")
    security_group_id: str = Field(pattern=r"^sg-[0-9a-f]{8,17}$")
    availability_zone: str


class EventStart(_Config):
    """Also start the workflow when an export lands under `dropPrefix` of the Bronze bucket (the
    schedule goes on): what arrives within `batchWindowSeconds` of the first event starts one run."""

    enabled: bool = False
    drop_prefix: str = Field(default="drop/", pattern=r"^[a-z0-9][a-z0-9_-]*/$")
    batch_window_seconds: int = Field(default=300, ge=1, le=900)
    # Who may assume the exporter role that writes there (default: this account's administrators).
    sender_principal_arn: str | None = None


class StackConfig(_Config):
    stack: str
    region: str
    name_prefix: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    schedule: str = Field(pattern=r"^cron\(.+\)$")
    # Overrides of the workflow declaration's job sizes, only where this stack differs.
    jobs: dict[str, JobOverride] = Field(default_factory=dict)
    bronze_cold_after_days: int = Field(90, ge=30)
    noncurrent_version_expiry_days: int = Field(30, ge=1)
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] = (
        30
    )
    alert_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    # Gold is stale when no run has published it for this long (the daily run plus its slack); CloudWatch
    # evaluates an alarm over seven days at most.
    freshness_hours: int = Field(default=26, ge=2, le=168)
    # The stack's monthly AWS Budget (USD): an e-mail at 80% of it spent and when the forecast passes it.
    monthly_budget_usd: float = Field(default=100.0, gt=0)
    network: NewNetwork | ExistingNetwork = Field(discriminator="mode")
    event_start: EventStart = EventStart()
    # Keep what holds data (the key, the buckets, the secret) from deletion by `pulumi destroy` or a
    # change that would replace it: on in prod.
    protect_data: bool = False
    # Who may assume the dashboard's read-only role (default: this account's administrators).
    dashboard_principal_arn: str | None = None
    # Where `python -m bi_infra.wheelhouse --out dist/glue` put the jobs' zips of wheels.
    wheels_dir: Path = Path("../dist/glue")

    @property
    def wheels_path(self) -> Path:
        """`wheelsDir` relative to the Pulumi project (infra/), wherever the program runs from."""
        return self.wheels_dir if self.wheels_dir.is_absolute() else PROJECT_DIR / self.wheels_dir

    def name(self, what: str) -> str:
        return f"{self.name_prefix}-{self.stack}-{what}"

    def bucket_name(self, what: str, account: str) -> str:
        """Bucket names are global: the account id keeps two accounts' stacks from colliding."""
        name = f"{self.name(what)}-{account}"
        if len(name) > BUCKET_NAME_MAX:
            raise UserError(
                f"bucket name {name} is {len(name)} characters, S3 allows {BUCKET_NAME_MAX}: "
                "shorten bi:namePrefix"
            )
        return name

    def job_size(self, job: str) -> JobSize:
        override = self.jobs.get(job, JobOverride()).model_dump(exclude_none=True)
        return declared_size(job).model_copy(update=override)

    def model_post_init(self, context: Any) -> None:
        unknown = set(self.jobs) - set(WORKFLOW.names)
        if unknown:
            raise ValueError(
                f"bi:jobs names {sorted(unknown)}, which the workflow does not have: {WORKFLOW.names}"
            )


def parse(stack: str, region: str, values: dict[str, Any]) -> StackConfig:
    """Checked settings, or one line naming what is wrong."""
    try:
        return StackConfig.model_validate({"stack": stack, "region": region, **values})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "config"
        raise UserError(f"invalid stack config bi:{where}: {error['msg']}") from None


def stack_file(stack: str) -> tuple[str, dict[str, Any]]:
    """A stack file of infra/ (`Pulumi.<stack>.yaml`) as the program reads it: the region and the
    `bi:` settings, keys without their namespace. For what runs outside `pulumi up` (the cost model)."""
    import yaml

    values = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    return values["aws:region"], {k.removeprefix("bi:"): v for k, v in values.items() if k.startswith("bi:")}


def load_stack_file(stack: str, overrides: dict[str, Any] | None = None) -> StackConfig:
    """A stack file's settings, checked as `pulumi up` checks them (some replaced by `overrides`)."""
    region, settings = stack_file(stack)
    return parse(stack, region, settings | (overrides or {}))


def load() -> StackConfig:
    """The running stack's settings, from Pulumi's configuration."""
    import pulumi

    config = pulumi.Config("bi")
    values: dict[str, Any] = {}
    for key in ("jobs", "network", "eventStart"):
        if (found := config.get_object(key)) is not None:
            values[key] = found
    for key in ("bronzeColdAfterDays", "noncurrentVersionExpiryDays", "logRetentionDays", "freshnessHours"):
        if (number := config.get_int(key)) is not None:
            values[key] = number
    for key in ("namePrefix", "schedule", "alertEmail", "dashboardPrincipalArn", "wheelsDir"):
        if (text := config.get(key)) is not None:
            values[key] = text
    if (protect := config.get_bool("protectData")) is not None:
        values["protectData"] = protect
    if (budget := config.get_float("monthlyBudgetUsd")) is not None:
        values["monthlyBudgetUsd"] = budget
    region = pulumi.Config("aws").require("region")
    return parse(pulumi.get_stack(), region, values)
