"""The one settings object, fed by command-line flags and `BI_*` environment variables (flags win)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bi_lake.errors import UserError
from bi_lake.storage import join_uri, validate_uri

DEFAULT_SOURCE_URL = "sqlite:///.bi/source.db"
DEFAULT_LAKE = "./lake"
DEFAULT_CURRENCY = "USD"


class Settings(BaseSettings):
    """Where the data comes from, where the lake lives, and how the pipeline behaves."""

    model_config = SettingsConfigDict(env_prefix="BI_", extra="forbid", frozen=True)

    source_url: str = Field(DEFAULT_SOURCE_URL, description="SQLAlchemy URL of the ordering database")
    lake: str = Field(DEFAULT_LAKE, description="lake root: a folder or s3://bucket/prefix")
    bronze_uri: str | None = Field(None, description="Bronze layer location (default <lake>/bronze)")
    silver_uri: str | None = Field(None, description="Silver layer location (default <lake>/silver)")
    gold_uri: str | None = Field(None, description="Gold layer location (default <lake>/gold)")
    kms_key_id: str | None = Field(
        None, description="ARN of the KMS key every object written to S3 is encrypted with"
    )
    chunk_rows: int = Field(50_000, ge=100, le=5_000_000, description="rows per extraction chunk")
    test_app_pattern: str = Field(
        "DEVELOPMENT", min_length=1, description="regular expression (any case) naming test apps"
    )
    spark_log_level: Literal["ERROR", "WARN", "INFO"] = Field(
        "ERROR", description="Spark's own log lines a local run shows (bi run --verbose: WARN)"
    )
    currency: str = Field(
        DEFAULT_CURRENCY,
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of the source's amounts, as shown to people",
    )
    lock_stale_after_s: int = Field(
        600, ge=30, description="a lock whose heartbeat is older than this is taken over"
    )
    catalog: Literal["sql", "glue"] = Field(
        "sql",
        description="where Silver's and Gold's Iceberg tables are registered: a SQL catalog or AWS Glue",
    )
    catalog_uri: str | None = Field(
        None,
        description="SQLAlchemy URL of the SQL catalog (default sqlite:///<lake>/_catalog/iceberg.db "
        "for a lake in a folder)",
    )
    catalog_namespace_prefix: str = Field(
        "",
        pattern=r"^[a-z0-9_]*$",
        description="prefix of the catalog namespaces (Glue databases) <prefix>silver and <prefix>gold",
    )
    snapshots_kept: int = Field(
        5, ge=1, description="every table keeps at least its last this many snapshots"
    )
    snapshot_days_kept: float = Field(
        7, ge=0, description="and every snapshot younger than this many days (for time travel)"
    )

    @field_validator("source_url")
    @classmethod
    def _looks_like_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(
                "expected a SQLAlchemy URL such as sqlite:///path/to.db or mssql+pymssql://host/db"
            )
        return value

    @field_validator("test_app_pattern")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("lake", "bronze_uri", "silver_uri", "gold_uri")
    @classmethod
    def _valid_location(cls, value: str | None) -> str | None:
        return None if value is None else validate_uri(value)

    @field_validator("catalog_uri")
    @classmethod
    def _catalog_url(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError("expected a SQLAlchemy URL such as sqlite:////path/to/iceberg.db")
        return value

    @property
    def bronze(self) -> str:
        return self.bronze_uri or join_uri(self.lake, "bronze")

    @property
    def silver(self) -> str:
        return self.silver_uri or join_uri(self.lake, "silver")

    @property
    def gold(self) -> str:
        return self.gold_uri or join_uri(self.lake, "gold")


def load_settings(**flags: Any) -> Settings:
    """Build the settings from flags (None means "not given") over the environment.

    A bad value becomes a one-line `UserError` naming the setting and its environment variable.
    """
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise UserError(f"invalid setting {name} (BI_{name.upper()}): {message}") from None
