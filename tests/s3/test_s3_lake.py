"""The pipeline's components on an S3 lake (moto): ingest writes Bronze there and is incremental from
the watermark it keeps there; a Gold copied there answers `bi query`, `bi status` and the dashboard
exactly as the local lake does; every object carries SSE-KMS with the project key; and a wrong
endpoint, a missing bucket or denied credentials are one line naming the bucket, with nothing written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa

from bi_dashboard.pages import PAGES
from bi_lake.layout import Lake
from bi_lake.manifests import Manifest, Watermarks
from bi_lake.settings import Settings
from bi_source.generator import add_days
from tests import running
from tests.conftest import OpenApp, sqlite_url
from tests.lakes import copy_tables
from tests.running import assert_one_line_error, run_pipeline
from tests.s3.conftest import REGION, AwsLake

pytestmark = [pytest.mark.s3, pytest.mark.e2e]  # `bi` and the pipeline on the S3 lake

QUESTIONS = [
    ["net_sales,orders,aov,customers,discount_rate"],
    ["net_sales,orders,repeat_rate", "--by", "order_month,restaurant_id"],
    ["customers,net_sales_per_customer", "--by", "rfm_segment,clv_tier", "--start", "2023-02-01"],
    ["orders,discounted_order_share", "--by", "item_category,is_discounted", "--where", "is_loyalty=true"],
]


def bi(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`bi` in its own process, with the environment a user would set and no other AWS account's."""
    return running.bi(*args, cwd=cwd, env=env, clear=("BI_", "AWS_"))


def copy_gold(local: Settings, aws_lake: AwsLake, **catalog: Any) -> None:
    """Gold built locally, its published files uploaded object by object (each one SSE-KMS) and its
    tables registered in the S3 lake's catalog (Glue's, on moto)."""
    copy_tables(local, aws_lake.settings(**catalog), upload=True, layers=("gold",))


def assert_every_object_is_encrypted_with_the_key(aws_lake: AwsLake) -> int:
    s3 = boto3.client("s3", region_name=REGION)
    checked = 0
    for bucket, keys in aws_lake.objects().items():
        for key in keys:
            head = s3.head_object(Bucket=bucket, Key=key)
            assert head.get("ServerSideEncryption") == "aws:kms", f"s3://{bucket}/{key}"
            assert head.get("SSEKMSKeyId") == aws_lake.key_arn, f"s3://{bucket}/{key}"
            checked += 1
    return checked


def test_ingest_writes_bronze_to_s3_and_the_next_run_is_incremental(
    aws_lake: AwsLake, source: Path, source_engine: sa.Engine
) -> None:
    settings = aws_lake.settings(source_url=sqlite_url(source), chunk_rows=2000)
    first = run_pipeline(settings, only=("ingest",))
    assert first.status == "succeeded", first.error
    bronze = Lake.from_settings(settings).bronze
    manifest = Manifest.model_validate_json(bronze.read_bytes(f"_manifests/{first.run_id}.json"))
    assert {t.table: t.mode for t in manifest.tables}["order_items"] == "full"
    files = [f.key for t in manifest.tables for f in t.files]
    assert files and all(bronze.exists(key) for key in files)
    before = Watermarks.load(bronze).tables["order_items"].cursor_value

    add_days(source_engine, 2, seed_value=5)
    second = run_pipeline(settings, only=("ingest",))
    assert second.status == "succeeded", second.error
    manifest = Manifest.model_validate_json(bronze.read_bytes(f"_manifests/{second.run_id}.json"))
    lines = next(t for t in manifest.tables if t.table == "order_items")
    assert lines.mode == "incremental"
    assert lines.watermark_before == before
    assert lines.rows < first.jobs[0].tables[0].rows_in
    after = Watermarks.load(bronze).tables["order_items"].cursor_value
    assert after is not None and before is not None and after > before
    # The run reports and the released lock live in the lake root, on S3 too.
    assert Lake.from_settings(settings).root.exists(f"_runs/{second.run_id}.json")
    assert not Lake.from_settings(settings).root.exists("_lock.json")
    assert assert_every_object_is_encrypted_with_the_key(aws_lake) > len(files)


@pytest.mark.spark
def test_gold_on_s3_answers_like_the_local_lake(
    gold_lake: Settings, aws_lake: AwsLake, tmp_path: Path
) -> None:
    copy_gold(gold_lake, aws_lake)
    for question in QUESTIONS:
        local = bi("query", *question, "--format", "json", "--lake", gold_lake.lake, env={}, cwd=tmp_path)
        remote = bi("query", *question, "--format", "json", env=aws_lake.env, cwd=tmp_path)
        assert local.returncode == 0 and remote.returncode == 0, remote.stderr
        assert json.loads(remote.stdout) == json.loads(local.stdout)
        assert json.loads(remote.stdout)
    status = bi("status", "--format", "json", env=aws_lake.env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    gold = json.loads(status.stdout)["gold"]
    local_gold = json.loads(
        bi("status", "--format", "json", "--lake", gold_lake.lake, env={}, cwd=tmp_path).stdout
    )
    assert gold["run_id"] == local_gold["gold"]["run_id"]
    # The same datasets, rows and files; the snapshots are the copy's own.
    same = ("dataset", "rows", "files", "committed_by_run")
    assert [{k: d[k] for k in same} for d in gold["datasets"]] == [
        {k: d[k] for k in same} for d in local_gold["gold"]["datasets"]
    ]
    # The data files and Iceberg's metadata alike.
    assert assert_every_object_is_encrypted_with_the_key(aws_lake) > sum(d["files"] for d in gold["datasets"])


@pytest.mark.spark
def test_the_dashboard_renders_every_page_from_s3(
    gold_lake: Settings, aws_lake: AwsLake, open_app: OpenApp
) -> None:
    copy_gold(gold_lake, aws_lake)
    local = open_app(gold_lake.lake, range="all")
    expected = [(m.label, m.value) for m in local.metric]
    layers = {
        name: aws_lake.env[name] for name in ("BI_SILVER_URI", "BI_GOLD_URI", "BI_KMS_KEY_ID", "BI_CATALOG")
    }
    app = open_app(aws_lake.env["BI_LAKE"], env=layers, range="all")
    assert not app.exception and not app.error
    assert [(m.label, m.value) for m in app.metric] == expected
    for page in PAGES[1:]:
        app.switch_page(page.script).run()
        assert not app.exception, (page.title, [e.message for e in app.exception])
        assert not app.error, (page.title, [e.value for e in app.error])
        assert [t.value for t in app.title] == [page.title]


def test_a_missing_bucket_fails_in_one_line_naming_it_and_writes_nothing(
    aws_lake: AwsLake, source: Path, tmp_path: Path
) -> None:
    env = aws_lake.env | {"BI_GOLD_URI": "s3://bi-test-no-such-gold", "BI_SOURCE_URL": sqlite_url(source)}
    # The whole workflow checks every layer it will write before it writes the first one.
    result = bi("run", env=env, cwd=tmp_path)
    assert_one_line_error(result, "bucket bi-test-no-such-gold does not exist")
    assert all(keys == [] for keys in aws_lake.objects().values()), "nothing was written"
    # A run of ingest alone needs only the lake root and Bronze.
    ingest = bi("run", "--only", "ingest", env=env, cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    query = bi("query", "orders", env=env, cwd=tmp_path)
    assert_one_line_error(query, "bucket bi-test-no-such-gold does not exist")


def test_a_wrong_endpoint_fails_in_one_line_naming_the_bucket(
    aws_lake: AwsLake, source: Path, tmp_path: Path
) -> None:
    env = aws_lake.env | {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "BI_SOURCE_URL": sqlite_url(source)}
    for args in (("run", "--only", "ingest"), ("query", "orders"), ("status",)):
        result = bi(*args, env=env, cwd=tmp_path)
        assert_one_line_error(result, "cannot reach S3 at http://127.0.0.1:9 for bucket bi-test-")
    assert all(keys == [] for keys in aws_lake.objects().values())


def test_denied_credentials_fail_in_one_line_naming_the_bucket(tmp_path: Path, source: Path) -> None:
    """A second S3 endpoint that checks credentials (moto's IAM enforcement), asked with unknown keys."""
    port_probe = subprocess.run(
        [sys.executable, "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    port = port_probe.stdout.strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", port],
        env=os.environ | {"INITIAL_NO_AUTH_ACTION_COUNT": "0"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        endpoint = f"http://127.0.0.1:{port}"
        _wait_for(endpoint)
        env = {
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWNUNKNOWN00", "AWS_SECRET_ACCESS_KEY": "nope",
            "AWS_REGION": REGION, "BI_LAKE": "s3://bi-test-denied", "BI_KMS_KEY_ID": "alias/bi",
            "BI_SOURCE_URL": sqlite_url(source),
        }  # fmt: skip
        for args in (("run", "--only", "ingest"), ("query", "orders")):
            result = bi(*args, env=env, cwd=tmp_path)
            assert_one_line_error(result, "s3://bi-test-denied", "was denied")
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for(endpoint: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the moto server at {endpoint} did not start")


def test_a_local_spark_session_on_an_s3_lake_gets_s3a_settings_with_the_key() -> None:
    """The local session's S3A settings (the connector itself is downloaded by Spark, not here)."""
    from bi_lake.s3 import S3Endpoint
    from bi_transform.spark import hadoop_version, s3a_config

    assert hadoop_version() == "3.3.4"
    local = s3a_config(S3Endpoint("http://127.0.0.1:5000", REGION, "k", "s", None), "arn:aws:kms:key/1")
    assert local["spark.jars.packages"] == "org.apache.hadoop:hadoop-aws:3.3.4"
    assert local["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert local["spark.hadoop.fs.s3a.encryption.algorithm"] == "SSE-KMS"
    assert local["spark.hadoop.fs.s3a.encryption.key"] == "arn:aws:kms:key/1"
    assert local["spark.hadoop.fs.s3a.endpoint"] == "127.0.0.1:5000"
    assert local["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert local["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert not any(value == "k" or value == "s" for value in local.values()), "no secrets in Spark's settings"
    aws = s3a_config(S3Endpoint(None, REGION, None, None, None), "alias/bi")
    assert "spark.hadoop.fs.s3a.endpoint" not in aws and aws["spark.hadoop.fs.s3a.endpoint.region"] == REGION


def test_duckdb_reads_s3_with_extensions_from_the_wheels_and_the_same_endpoint() -> None:
    from bi_lake.s3 import S3Endpoint
    from bi_metrics import duckdb_extensions

    connection = duckdb_extensions.connect(on_s3=True)
    loaded = connection.execute(
        "SELECT loaded, install_path FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
    ).fetchone()
    assert loaded is not None and loaded[0] and "duckdb_ext" in str(loaded[1])
    sql = duckdb_extensions.secret_sql(S3Endpoint("http://127.0.0.1:5000", REGION, "AKIA", "se'cret", "tok"))
    assert "ENDPOINT '127.0.0.1:5000'" in sql and "URL_STYLE 'path'" in sql and "USE_SSL false" in sql
    assert "SECRET 'se''cret'" in sql and "SESSION_TOKEN 'tok'" in sql and f"REGION '{REGION}'" in sql
    connection.execute(sql)
