"""A stack's settings, typed and checked: `Pulumi.<stack>.yaml` under the `bi:` namespace.

Job sizes start from the workflow declaration and a stack may override each; everything a stack
names (buckets, roles, jobs) is `<namePrefix>-<stack>-<what>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from bi_lake.errors import UserError
from bi_lake.workflow import WORKFLOW

PROJECT_DIR = Path(__file__).resolve().parents[2]


class _Config(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class JobSize(_Config):
    worker_type: Literal["G.1X", "G.2X", "G.4X", "G.8X"] = "G.1X"
    workers: int = Field(2, ge=2, le=100)
    # Flex runs on spare capacity at a lower price, and may start later: for jobs that can wait.
    flex: bool = False
    timeout_minutes: int = Field(60, ge=1, le=2880)
    retries: int = Field(0, ge=0, le=10)


class SqlServerNetwork(_Config):
    """Where the Glue connection places the ingest job's network interface to reach SQL Server."""

    subnet_id: str
    security_group_id: str
    availability_zone: str


class EventStart(_Config):
    """Start the workflow when an export lands under `dropPrefix` of the Bronze bucket."""

    enabled: bool = False
    drop_prefix: str = "drop/"


class StackConfig(_Config):
    stack: str
    region: str
    name_prefix: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    schedule: str = Field(pattern=r"^cron\(.+\)$")
    jobs: dict[str, JobSize]
    bronze_cold_after_days: int = Field(90, ge=30)
    noncurrent_version_expiry_days: int = Field(30, ge=1)
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] = (
        30
    )
    alert_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    sql_server: SqlServerNetwork
    event_start: EventStart = EventStart()
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

    def job_size(self, job: str) -> JobSize:
        return self.jobs[job]

    def model_post_init(self, context: Any) -> None:
        missing = set(WORKFLOW.names) - set(self.jobs)
        unknown = set(self.jobs) - set(WORKFLOW.names)
        if missing or unknown:
            raise ValueError(
                f"bi:jobs must size exactly the workflow's jobs {WORKFLOW.names}: "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )


def parse(stack: str, region: str, values: dict[str, Any]) -> StackConfig:
    """Checked settings, or one line naming what is wrong."""
    try:
        return StackConfig.model_validate({"stack": stack, "region": region, **values})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "config"
        raise UserError(f"invalid stack config bi:{where}: {error['msg']}") from None


def load() -> StackConfig:
    """The running stack's settings, from Pulumi's configuration."""
    import pulumi

    config = pulumi.Config("bi")
    values: dict[str, Any] = {}
    for key in ("jobs", "sqlServer", "eventStart"):
        if (found := config.get_object(key)) is not None:
            values[key] = found
    for key in ("bronzeColdAfterDays", "noncurrentVersionExpiryDays", "logRetentionDays"):
        if (number := config.get_int(key)) is not None:
            values[key] = number
    for key in ("namePrefix", "schedule", "alertEmail", "dashboardPrincipalArn", "wheelsDir"):
        if (text := config.get(key)) is not None:
            values[key] = text
    region = pulumi.Config("aws").require("region")
    return parse(pulumi.get_stack(), region, values)
