"""How the dashboard is served: `BI_DASHBOARD_*` environment variables, set by the container's task
definition on AWS. Locally (`bi dashboard`) none is set and nothing here changes what a user sees."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from bi_lake.errors import UserError

# A group mapped to this sees every restaurant.
EVERY_RESTAURANT = "*"


class DashboardSettings(BaseSettings):
    """Who may open the dashboard, and which restaurants each group of users may see."""

    model_config = SettingsConfigDict(env_prefix="BI_DASHBOARD_", extra="ignore", frozen=True)

    sign_in: Literal["none", "alb"] = Field(
        "none",
        description="alb: every session must carry the identity an Application Load Balancer signed",
    )
    region: str | None = Field(
        None, description="the load balancer's region, for its public keys (default: AWS_REGION)"
    )
    load_balancer_arn: str | None = Field(
        None, description="the load balancer a signed identity must come from (its `signer`)"
    )
    public_keys_url: str | None = Field(
        None,
        description="where the load balancer's public keys are, by key id "
        "(default https://public-keys.auth.elb.<region>.amazonaws.com)",
    )
    restaurant_access: dict[str, list[str]] = Field(
        default_factory=dict,
        description='identity-provider group -> the restaurant ids its members may see ("*": all); '
        "empty: every signed-in user sees every restaurant",
    )
    groups_claim: str = Field("groups", description="the identity's claim that lists the user's groups")

    @field_validator("restaurant_access", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _signer_named(self) -> DashboardSettings:
        # Every load balancer of the region signs with the region's keys: only the signer tells ours.
        if self.sign_in == "alb" and not self.load_balancer_arn:
            raise ValueError(
                "load_balancer_arn is required with sign_in=alb (BI_DASHBOARD_LOAD_BALANCER_ARN)"
            )
        return self

    @property
    def keys_url(self) -> str:
        if self.public_keys_url:
            return self.public_keys_url.rstrip("/")
        if not self.region:
            raise UserError("BI_DASHBOARD_REGION (or AWS_REGION) is needed to verify the sign-in")
        return f"https://public-keys.auth.elb.{self.region}.amazonaws.com"


def load_dashboard_settings() -> DashboardSettings:
    """The settings, or one line naming the one that is wrong."""
    import os

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    try:
        settings = DashboardSettings()
    except SettingsError as exc:
        # What the environment holds for a structured setting is not JSON.
        field = re.search(r'field "(\w+)"', str(exc))
        name = field.group(1).upper() if field else "SETTINGS"
        raise UserError(f"invalid setting BI_DASHBOARD_{name}: not valid JSON") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise UserError(f"invalid setting BI_DASHBOARD_{name.upper()}: {message}") from None
    if settings.region is None and region:
        settings = settings.model_copy(update={"region": region})
    return settings
