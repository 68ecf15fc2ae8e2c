"""Least privilege, enforced: principals holding exactly the policies the infrastructure declares for
each role (`bi_infra.access`), against moto's IAM enforcement, can do their job and are denied the rest.

moto evaluates the identity policies of S3 requests (actions and resources); it does not make S3 call
KMS with the caller's permissions, so the `kms:` statements are checked by the infrastructure's unit
tests only, and bucket policies are not evaluated here.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import boto3
import pytest

from bi_infra.access import Arns, dashboard_policy, job_policy
from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.settings import Settings
from bi_lake.workflow import WORKFLOW
from tests.conftest import sqlite_url
from tests.s3.conftest import REGION, AwsLake
from tests.s3.test_s3_lake import bi, copy_gold

pytestmark = [pytest.mark.s3, pytest.mark.e2e]  # `bi` and the pipeline on the S3 lake

ACCOUNT = "123456789012"  # moto's account
Credentials = dict[str, dict[str, str]]


def _enforce_after(endpoint: str, requests: float) -> None:
    """moto checks every request against IAM once this many more have passed."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=str(requests).encode(),
        method="POST",
        # Plain text: as a form, the body would be parsed away before moto reads it.
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request):
        pass


@pytest.fixture
def principals(aws_lake: AwsLake) -> Iterator[Credentials]:
    """One IAM user per role, holding exactly that role's declared policy; then enforcement starts."""
    buckets = {layer: f"arn:aws:s3:::{bucket}" for layer, bucket in aws_lake.buckets.items()}
    arns = Arns(
        account=ACCOUNT, region=REGION, partition="aws", key=aws_lake.key_arn,
        buckets=buckets | {"artifacts": "arn:aws:s3:::bi-test-artifacts"},
        secret=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bi-source",
        subnet=f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-1",
        security_group=f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-1",
    )  # fmt: skip
    policies = {job: job_policy(job, arns) for job in WORKFLOW.names} | {"dashboard": dashboard_policy(arns)}
    iam = boto3.client("iam", region_name=REGION)
    _enforce_after(aws_lake.endpoint, 3 * len(policies))
    credentials: Credentials = {}
    try:
        for name, policy in policies.items():
            iam.create_user(UserName=f"bi-{name}")
            iam.put_user_policy(UserName=f"bi-{name}", PolicyName="access", PolicyDocument=json.dumps(policy))
            key = iam.create_access_key(UserName=f"bi-{name}")["AccessKey"]
            credentials[name] = {
                "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            }
        yield credentials
    finally:
        _enforce_after(aws_lake.endpoint, float("inf"))


def _as(monkeypatch: pytest.MonkeyPatch, credentials: dict[str, str]) -> None:
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)


def _allowed(action: Callable[[], object]) -> bool:
    try:
        action()
    except UserError as exc:
        assert "was denied" in str(exc), exc
        return False
    return True


def test_each_role_can_do_its_job_and_nothing_else(
    aws_lake: AwsLake, principals: Credentials, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = bi("run", "--only", "ingest", env=aws_lake.env | principals["ingest"] | {"BI_SOURCE_URL": sqlite_url(source)},
             cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    lake = Lake.from_settings(aws_lake.settings())

    _as(monkeypatch, principals["ingest"])
    bronze_keys = lake.bronze.list_keys("order_items")
    assert bronze_keys and lake.bronze.list_keys("_manifests"), "ingest wrote its data and manifest"
    assert not _allowed(lambda: lake.silver.write_bytes("stolen.json", b"{}")), "ingest cannot write Silver"
    assert not _allowed(lambda: lake.gold.write_bytes("stolen.json", b"{}")), "ingest cannot write Gold"

    _as(monkeypatch, principals["silver"])
    assert _allowed(lambda: lake.bronze.read_bytes(bronze_keys[0])), "silver reads Bronze"
    assert _allowed(lambda: lake.silver.write_bytes("_state/probe.json", b"{}")), "silver writes Silver"
    assert not _allowed(lambda: lake.bronze.write_bytes("_manifests/forged.json", b"{}")), (
        "silver cannot write Bronze"
    )
    assert not _allowed(lambda: lake.gold.write_bytes("probe.json", b"{}")), "silver cannot write Gold"
    assert _allowed(lambda: lake.root.write_bytes("_runs/probe.json", b"{}")), (
        "every job keeps the run reports"
    )
    assert _allowed(lambda: lake.root.write_bytes("_workflow_runs/wr_probe.json", b"{}")), (
        "every job shares its workflow run's id"
    )

    _as(monkeypatch, principals["gold"])
    assert _allowed(lambda: lake.silver.read_bytes("_state/probe.json")), "gold reads Silver"
    assert _allowed(lambda: lake.gold.write_bytes("probe.json", b"{}")), "gold writes Gold"
    assert not _allowed(lambda: lake.silver.write_bytes("_state/probe.json", b"{}")), (
        "gold cannot write Silver"
    )
    assert not _allowed(lambda: lake.bronze.read_bytes(bronze_keys[0])), "gold does not read Bronze"

    _as(monkeypatch, principals["dashboard"])
    assert _allowed(lambda: lake.gold.read_bytes("probe.json")), "the dashboard reads Gold"
    for storage in (lake.gold, lake.silver, lake.bronze, lake.root):
        assert not _allowed(partial(storage.write_bytes, "_runs/x.json", b"{}")), (
            f"the dashboard writes {storage.uri}"
        )
    assert _allowed(lambda: lake.bronze.list_keys("_manifests")), "the Data health page reads the manifests"
    assert not _allowed(lambda: lake.bronze.read_bytes(bronze_keys[0])), (
        "the dashboard does not read Bronze's data"
    )


@pytest.mark.spark
def test_the_dashboard_role_answers_bi_query_from_a_gold_the_gold_role_published(
    gold_lake: Settings,
    aws_lake: AwsLake,
    principals: Credentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # moto checks the actions of services other than S3 against the resource "*" only, so the Glue
    # grants (scoped to the stack's databases) cannot be exercised here: the tables are registered in
    # a SQL catalog, and S3 and KMS are what this test checks.
    catalog = {"catalog": "sql", "catalog_uri": f"sqlite:///{tmp_path / 'catalog.db'}"}
    _as(monkeypatch, principals["gold"])
    copy_gold(gold_lake, aws_lake, **catalog)
    question = ["net_sales,orders,customers", "--by", "order_month", "--format", "json"]
    local = bi("query", *question, "--lake", gold_lake.lake, env={}, cwd=tmp_path)
    env = aws_lake.env | {f"BI_{k.upper()}": v for k, v in catalog.items()}
    remote = bi("query", *question, env=env | principals["dashboard"], cwd=tmp_path)
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    denied = bi("run", "--only", "gold", env=env | principals["dashboard"], cwd=tmp_path)
    assert denied.returncode != 0 and "was denied" in denied.stderr
