"""The Glue entrypoint reads Glue-style arguments and runs the named job from the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bi_transform.glue.entrypoint import main, parse_job_arguments


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
