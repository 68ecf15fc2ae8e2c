"""Two `bi run` on one S3 lake at once (moto): the lock's conditional write lets one run, and the other
exits at once naming it."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tests.conftest import sqlite_url
from tests.reliability.test_concurrency import second_run_is_turned_away
from tests.s3.conftest import AwsLake

pytestmark = [pytest.mark.s3, pytest.mark.filterwarnings("ignore::ResourceWarning")]


def test_on_s3(aws_lake: AwsLake, default_source_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    source.write_bytes(default_source_file.read_bytes())
    env = aws_lake.env | {"BI_SOURCE_URL": sqlite_url(source), "BI_CHUNK_ROWS": "5000"}
    s3 = boto3.client("s3")

    def locked() -> bool:
        return "Contents" in s3.list_objects_v2(Bucket=aws_lake.buckets["bronze"], Prefix="_lock.json")

    second_run_is_turned_away(env, tmp_path, locked)
    assert not locked()
