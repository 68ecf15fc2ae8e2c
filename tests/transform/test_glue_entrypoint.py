"""The Glue entrypoint reads Glue-style arguments and runs the named job from the workflow."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bi_contracts.published import gold_tables, published
from bi_lake.layout import LOCK_KEY
from bi_lake.lock import LakeLock
from bi_lake.run_metrics import GOLD_PUBLISHED, JOB_SECONDS, NAMESPACE, ROWS_IN, ROWS_OUT, job_metrics
from bi_lake.runs import JobReport, load_run_reports, utc_now
from bi_lake.settings import Settings
from bi_lake.storage import LocalStorage
from bi_lake.version import code_version
from bi_transform.glue.entrypoint import main, parse_job_arguments
from bi_transform.silver.job import open_store


def test_glue_style_arguments_are_parsed() -> None:
    argv = [
        "--JOB_NAME",
        "bi-silver-prod",
        "--job",
        "silver",
        "--lake=s3://lake/prod",
        "--full-refresh",
        "--run_id",
        "20240101T000000Z-abc123",
    ]
    assert parse_job_arguments(argv) == {
        "JOB_NAME": "bi-silver-prod",
        "job": "silver",
        "lake": "s3://lake/prod",
        "full_refresh": "true",
        "run_id": "20240101T000000Z-abc123",
    }


def test_an_unknown_job_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--job", "nope"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["bi job: error: unknown job 'nope'; jobs are: ingest, silver, gold"]


def test_the_ingest_job_runs_through_the_entrypoint(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    code = main(
        [
            "--job",
            "ingest",
            "--lake",
            str(lake),
            "--source_url",
            f"sqlite:///{source}",
            "--run_id",
            "glue-run-1",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["job"] == "ingest" and report["status"] == "succeeded"
    assert (lake / "bronze" / "_manifests" / "glue-run-1.json").exists()


def test_the_source_url_comes_from_the_secret_and_a_missing_one_is_one_line(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="bi-source", SecretString=f"sqlite:///{source}")["ARN"]
        lake = tmp_path / "lake"
        assert main(["--job", "ingest", "--lake", str(lake), "--source_secret_id", arn]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["status"] == "succeeded" and report["tables"][0]["rows_in"] > 0
        assert main(["--job", "ingest", "--lake", str(lake), "--source_secret_id", "bi-missing"]) == 1
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and "cannot read the source secret bi-missing" in error[0]


def _glue_job(job: str, lake: Path, source: Path, workflow_run_id: str = "wr_0a1b2c") -> list[str]:
    """A job's arguments as a Glue workflow's trigger passes them."""
    return [
        "--JOB_NAME", f"bi-dev-{job}", "--WORKFLOW_NAME", "bi-dev-daily", "--WORKFLOW_RUN_ID", workflow_run_id,
        "--job", job, "--lake", str(lake), "--source_url", f"sqlite:///{source}",
    ]  # fmt: skip


@pytest.mark.spark
@pytest.mark.e2e
def test_the_jobs_of_one_workflow_run_share_one_run_id_and_one_report(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    assert main(_glue_job("ingest", lake, source)) == 0
    (running,) = load_run_reports(LocalStorage(lake))
    assert running.status == "running" and [j.job for j in running.jobs] == ["ingest"]
    assert main(_glue_job("silver", lake, source)) == 0
    assert main(_glue_job("gold", lake, source)) == 0
    (report,) = load_run_reports(LocalStorage(lake))
    assert report.run_id == running.run_id and report.status == "succeeded"
    assert report.code_version == code_version()
    assert [(j.job, j.status) for j in report.jobs] == [
        (n, "succeeded") for n in ("ingest", "silver", "gold")
    ]
    assert (lake / "bronze" / "_manifests" / f"{report.run_id}.json").exists()
    # Both layers' last commits carry this run's record.
    settings = Settings(lake=str(lake))
    assert open_store(settings).state().run_id == report.run_id
    gold = published(gold_tables(settings))
    assert gold.run_id == report.run_id and gold.code_version == code_version()
    # Another workflow run is another run.
    assert main(_glue_job("ingest", lake, source, "wr_ffff")) == 0
    assert len({r.run_id for r in load_run_reports(LocalStorage(lake))}) == 2
    capsys.readouterr()


def test_a_retry_takes_over_the_lock_its_failed_attempt_left_and_replaces_its_report(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    assert main(_glue_job("ingest", lake, tmp_path / "missing.db")) == 1
    (failed,) = load_run_reports(LocalStorage(lake))
    assert failed.status == "failed" and failed.jobs[0].status == "failed"
    # The attempt died holding the lock: its process looks alive and its heartbeat is fresh.
    dead = LakeLock(LocalStorage(lake), failed.run_id)
    LocalStorage(lake).write_bytes(LOCK_KEY, dead._payload())
    capsys.readouterr()
    assert main(_glue_job("ingest", lake, source)) == 0
    assert "took over a stale lock" in capsys.readouterr().err
    (retried,) = load_run_reports(LocalStorage(lake))
    assert retried.run_id == failed.run_id and retried.error is None
    assert retried.status == "running" and [(j.job, j.status) for j in retried.jobs] == [
        ("ingest", "succeeded")
    ]
    assert not LocalStorage(lake).exists(LOCK_KEY)


def test_a_deployed_job_publishes_its_figures_and_a_lost_metric_fails_nothing(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    lake = tmp_path / "lake"
    with mock_aws():
        assert main([*_glue_job("ingest", lake, source), "--metrics_stack", "acme-bi-dev-stack"]) == 0
        cloudwatch = boto3.client("cloudwatch")
        metrics = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
        names = {(m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in metrics}
        job = (("Stack", "acme-bi-dev-stack"), ("Job", "ingest"))
        assert names == {(JOB_SECONDS, job), (ROWS_IN, job), (ROWS_OUT, job)}
        (report,) = load_run_reports(LocalStorage(lake))
        stats = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=ROWS_OUT, Dimensions=[{"Name": n, "Value": v} for n, v in job],
            StartTime=report.started_at - dt.timedelta(hours=1), EndTime=utc_now() + dt.timedelta(hours=1),
            Period=3600, Statistics=["Sum"],
        )  # fmt: skip
        assert stats["Datapoints"][0]["Sum"] == sum(t.rows_out for t in report.jobs[0].tables) > 0
    capsys.readouterr()
    # No CloudWatch to reach: the job has done its work and still succeeds, saying what was lost.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert main([*_glue_job("ingest", lake, source, "wr_other"), "--metrics_stack", "acme-bi-dev-stack"]) == 0
    assert "bi job: warning: metrics not published" in capsys.readouterr().err


def test_only_a_gold_that_published_counts_as_fresh() -> None:
    published = JobReport(job="gold", status="succeeded", seconds=3.5)
    assert GOLD_PUBLISHED in {m["MetricName"] for m in job_metrics("s", published)}
    for report in (
        published.model_copy(update={"status": "failed"}),
        published.model_copy(update={"job": "silver"}),
    ):
        assert GOLD_PUBLISHED not in {m["MetricName"] for m in job_metrics("s", report)}
