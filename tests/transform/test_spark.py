"""Spark needs Java 17 (AWS Glue 5 parity): a clear line when it is missing, a UTC session when it is there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bi_cli.runner import RunOptions, run_workflow
from bi_lake.errors import UserError
from bi_lake.settings import Settings
from bi_lake.workflow import GlueSizing, JobSpec, SilentProgress, Workflow
from bi_transform.spark import require_java, spark_session


def _fake_java(folder: Path, version: str) -> Path:
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2024-01-16' >&2\n")
    java.chmod(0o755)
    return folder


def test_missing_java_is_one_line_naming_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java-here"))
    with pytest.raises(UserError) as caught:
        require_java()
    message = str(caught.value)
    assert "Java 17 is required" in message and "openjdk-17" in message and "\n" not in message


def test_no_java_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="no java was found on PATH"):
        require_java()


@pytest.mark.parametrize(
    ("version", "reported"), [("11.0.22", "Java 11"), ("1.8.0_392", "Java 8"), ("21.0.2", "Java 21")]
)
def test_another_java_version_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, reported: str
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, version)))
    with pytest.raises(UserError, match=f"is {reported}:"):
        require_java()


def test_a_spark_job_is_not_started_without_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "none"))
    workflow = Workflow(
        (
            JobSpec(
                "silver",
                "bi_ingest.job:run",
                "needs Spark",
                "spark",
                GlueSizing(job_type="glueetl", worker_type="G.1X", workers=2),
            ),
        )
    )
    settings = Settings(source_url="sqlite:///unused.db", lake=str(tmp_path / "lake"))
    with pytest.raises(UserError, match="Java 17 is required"):
        run_workflow(settings, RunOptions(), SilentProgress(), workflow)
    assert not (tmp_path / "lake").exists()


@pytest.mark.spark
def test_the_session_runs_in_utc_with_exact_decimals() -> None:
    from decimal import Decimal

    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType, StructField, StructType, TimestampType

    spark = spark_session("bi-test")
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    schema = StructType([StructField("price", DecimalType(10, 2)), StructField("at", TimestampType())])
    at = dt.datetime(2023, 12, 31, 23, 30, tzinfo=dt.UTC)
    frame = spark.createDataFrame([(Decimal("0.10"), at), (Decimal("0.20"), at)], schema)
    row = frame.agg(F.sum("price").alias("total"), F.max(F.to_date("at")).alias("day")).collect()[0]
    assert row.total == Decimal("0.30")
    assert row.day == dt.date(2023, 12, 31)
