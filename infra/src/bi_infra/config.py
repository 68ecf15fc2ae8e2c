"""A stack's settings, typed and checked: `Pulumi.<stack>.yaml` under the `bi:` namespace.

Job sizes are declared once, in the workflow declaration; a stack file overrides only what differs.
Everything a stack names (buckets, roles, jobs) is `<namePrefix>-<stack>-<what>`.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from bi_lake.errors import UserError
from bi_lake.workflow import WORKFLOW

PROJECT_DIR = Path(__file__).resolve().parents[2]
BUCKET_NAME_MAX = 63
# A stack's OpenID Connect client secret for the dashboard's sign-in is named `<prefix>-<stack>-<this>`
# (the read-only role that previews may read that name only: see bi_infra.bootstrap).
SIGN_IN_SECRET = "dashboard-oidc"
# The layers whose tables are Iceberg tables in a Glue database of the stack (Bronze is plain Parquet).
CatalogLayer = Literal["silver", "gold"]
CATALOG_LAYERS: tuple[CatalogLayer, ...] = ("silver", "gold")
# What a Glue database name (and the settings' catalog_namespace_prefix) may hold.
_NAMESPACE_PREFIX = re.compile(r"[a-z0-9_]*")


def database_name(prefix: str, layer: CatalogLayer) -> str:
    """The catalog namespace (Glue database) of a layer, as the jobs and readers name it from their
    catalog_namespace_prefix setting: `<prefix>silver`, `<prefix>gold`."""
    return f"{prefix}{layer}"


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


# Fargate's CPU units and the memory (MiB) each allows (Linux, platform 1.4).
FARGATE_MEMORY: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}
COGNITO_GROUPS_CLAIM = "custom:groups"
_HTTPS_URL = r"^https://[^\s/]+(/\S*)?$"
_SUBNET_ID = r"^subnet-[0-9a-f]{8,17}$"


class ScaleToZero(_Config):
    """No task out of hours: at `downCron` the service scales to zero, at `upCron` back to its
    `desiredCount` (Application Auto Scaling cron expressions, in `timezone`)."""

    down_cron: str = Field(pattern=r"^cron\(.+\)$")
    up_cron: str = Field(pattern=r"^cron\(.+\)$")
    timezone: str = "UTC"
    # For the cost model only, when the crons are more than a time of day on some days of the week.
    up_hours_per_month: float | None = Field(default=None, ge=0, le=744)


class OidcSignIn(_Config):
    """An OpenID Connect provider the load balancer signs users in with (an app registered there)."""

    issuer: str = Field(pattern=_HTTPS_URL)
    authorization_endpoint: str = Field(pattern=_HTTPS_URL)
    token_endpoint: str = Field(pattern=_HTTPS_URL)
    user_info_endpoint: str = Field(pattern=_HTTPS_URL)
    client_id: str = Field(min_length=1)
    # The app's client secret, kept in Secrets Manager (as a plain string).
    client_secret_arn: str = Field(pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")


class SignIn(_Config):
    oidc: OidcSignIn


class DashboardNetwork(_Config):
    """Where the dashboard stands in an existing network: the load balancer's public subnets (two zones
    at least) and the tasks' private ones."""

    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$")
    load_balancer_subnet_ids: list[Annotated[str, Field(pattern=_SUBNET_ID)]] = Field(min_length=2)
    task_subnet_ids: list[Annotated[str, Field(pattern=_SUBNET_ID)]] = Field(min_length=1)


class Dashboard(_Config):
    """The dashboard served on ECS Fargate behind a load balancer that signs every user in."""

    certificate_arn: str = Field(pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/.+$")
    # The name users open (a DNS record pointing at the load balancer, kept outside the stack).
    # Required: the certificate names it, the sign-in's callback is on it, and users open it.
    domain_name: str = Field(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    cpu: int = 512
    memory: int = 1024
    desired_count: int = Field(default=1, ge=1, le=10)
    # The image CI pushed and deploys (`pulumi config set --path bi:dashboard.imageTag <sha>`); none yet:
    # the service runs no task.
    image_tag: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    keep_images: int = Field(default=20, ge=1, le=1000)
    scale_to_zero: ScaleToZero | None = None
    # Absent: the stack creates a Cognito user pool whose administrators add the users.
    sign_in: SignIn | None = None
    # Identity-provider group -> the restaurant ids its members see ("*": all).
    restaurant_access: dict[str, list[str]] = Field(default_factory=dict)
    # The identity's claim listing the user's groups (default: "groups", or the pool's "custom:groups").
    groups_claim: str | None = Field(default=None, min_length=1)
    # Who may reach the load balancer.
    allowed_cidrs: list[str] = Field(default=["0.0.0.0/0"], min_length=1)
    # Required when bi:network.mode is existing.
    network: DashboardNetwork | None = None

    @field_validator("image_tag", mode="before")
    @classmethod
    def _tag_as_text(cls, value: Any) -> Any:
        # `pulumi config set --path` stores an all-digit short commit as a number.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("allowed_cidrs")
    @classmethod
    def _ipv4_networks(cls, values: list[str]) -> list[str]:
        for value in values:
            ipaddress.IPv4Network(value)
        return values

    @model_validator(mode="after")
    def _fargate_size(self) -> Dashboard:
        allowed = FARGATE_MEMORY.get(self.cpu)
        if allowed is None:
            raise ValueError(f"cpu {self.cpu} is not a Fargate size: one of {sorted(FARGATE_MEMORY)}")
        if self.memory not in allowed:
            raise ValueError(
                f"memory {self.memory} does not go with cpu {self.cpu} on Fargate: "
                f"{allowed.start} to {allowed.stop - 1} by {allowed.step}"
            )
        return self

    @property
    def cognito(self) -> bool:
        return self.sign_in is None

    @property
    def groups_claim_name(self) -> str:
        return self.groups_claim or (COGNITO_GROUPS_CLAIM if self.cognito else "groups")


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
    # Absent: the stack serves no dashboard (no load balancer, service, repository or NAT).
    dashboard: Dashboard | None = None

    @property
    def wheels_path(self) -> Path:
        """`wheelsDir` relative to the Pulumi project (infra/), wherever the program runs from."""
        return self.wheels_dir if self.wheels_dir.is_absolute() else PROJECT_DIR / self.wheels_dir

    def name(self, what: str) -> str:
        return f"{self.name_prefix}-{self.stack}-{what}"

    @property
    def catalog_namespace_prefix(self) -> str:
        """The stack's catalog_namespace_prefix setting (`bi_dev_`): its names' prefix as a Glue database
        name goes, so the Gold database keeps the name it had (`bi_dev_gold`)."""
        return self.name("").replace("-", "_")

    def database(self, layer: CatalogLayer) -> str:
        """The Glue database of a layer's tables, named as the jobs and the dashboard find it."""
        return database_name(self.catalog_namespace_prefix, layer)

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
        if not _NAMESPACE_PREFIX.fullmatch(self.catalog_namespace_prefix):
            raise ValueError(
                f"the stack's Glue databases would be named {self.database('gold')}: a Glue database name "
                "holds lowercase letters, digits and underscores only (rename the stack)"
            )
        oidc = self.dashboard.sign_in.oidc if self.dashboard and self.dashboard.sign_in else None
        expected = self.name(SIGN_IN_SECRET)
        if oidc is not None and not re.search(
            rf":secret:{re.escape(expected)}-[A-Za-z0-9]{{6}}$", oidc.client_secret_arn
        ):
            raise ValueError(
                f"bi:dashboard.signIn.oidc.clientSecretArn must be the secret named {expected}: the "
                "read-only role that previews and plans may read that name only"
            )
        unknown = set(self.jobs) - set(WORKFLOW.names)
        if unknown:
            raise ValueError(
                f"bi:jobs names {sorted(unknown)}, which the workflow does not have: {WORKFLOW.names}"
            )
        if self.dashboard is not None:
            existing = self.network.mode == "existing"
            if existing and self.dashboard.network is None:
                raise ValueError(
                    "bi:dashboard.network (vpcId, loadBalancerSubnetIds, taskSubnetIds) is required when "
                    "bi:network.mode is existing"
                )
            if not existing and self.dashboard.network is not None:
                raise ValueError(
                    "bi:dashboard.network is for bi:network.mode existing: create places it itself"
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
    for key in ("jobs", "network", "eventStart", "dashboard"):
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
