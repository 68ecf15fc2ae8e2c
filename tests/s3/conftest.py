"""An S3 lake without an AWS account: moto's S3 and KMS served on 127.0.0.1, reached through the
standard AWS variables exactly as a real endpoint would be."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bi_lake.settings import Settings

# Final keeps the literal, which the S3 stubs ask for as a bucket's LocationConstraint.
REGION: Final = "eu-west-1"
LAYERS = ("bronze", "silver", "gold")
# Anything naming another AWS account, profile or endpoint is removed from the tests' environment.
AWS_VARIABLES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3",
    "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
)  # fmt: skip


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass(frozen=True)
class AwsLake:
    endpoint: str
    key_arn: str
    buckets: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        """What a user sets: the standard AWS variables and the lake's locations and key."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "BI_LAKE": f"s3://{self.buckets['bronze']}",
            "BI_SILVER_URI": f"s3://{self.buckets['silver']}",
            "BI_GOLD_URI": f"s3://{self.buckets['gold']}",
            "BI_KMS_KEY_ID": self.key_arn,
            "BI_CATALOG": "glue",
        }

    # Any: pydantic checks each setting's value as the object is built.
    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "lake": self.env["BI_LAKE"],
            "silver_uri": self.env["BI_SILVER_URI"],
            "gold_uri": self.env["BI_GOLD_URI"],
            "kms_key_id": self.key_arn,
            "catalog": "glue",
        }
        return Settings(**(values | overrides))

    def client(self) -> object:
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION)

    def objects(self) -> dict[str, list[str]]:
        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION)
        found: dict[str, list[str]] = {}
        for bucket in self.buckets.values():
            keys: list[str] = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys += [item["Key"] for item in page.get("Contents", [])]
            found[bucket] = keys
        return found


@pytest.fixture
def aws_lake(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AwsLake:
    """A fresh account: one customer-managed KMS key and a bucket per layer, nothing else."""
    with urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")):
        pass
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in [name for name in os.environ if name.startswith("BI_")]:
        monkeypatch.delenv(name)
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    key_arn = kms.create_key(Description="business insights lake")["KeyMetadata"]["Arn"]
    lake = AwsLake(moto_endpoint, key_arn, {layer: f"bi-test-{layer}" for layer in LAYERS})
    for name, value in lake.env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    for bucket in lake.buckets.values():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return lake
