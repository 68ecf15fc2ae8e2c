"""The buckets: one per layer plus artifacts, all SSE-KMS with the project key and bucket keys on,
public access blocked, TLS-only policies that also refuse unencrypted puts, access logs kept in a log
bucket; Bronze versioned for audit and moved to a colder class as it ages."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from bi_infra.access import bucket_policy, log_bucket_policy
from bi_infra.config import StackConfig

DATA_BUCKETS = ("bronze", "silver", "gold", "artifacts")


@dataclass(frozen=True)
class Buckets:
    data: dict[str, aws.s3.Bucket]
    logs: aws.s3.Bucket

    def arns(self) -> dict[str, pulumi.Output[str]]:
        return {name: bucket.arn for name, bucket in self.data.items()}


def _private(name: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions) -> None:
    aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )


def _log_bucket(
    config: StackConfig, account: str, opts: pulumi.ResourceOptions, keep: pulumi.ResourceOptions
) -> aws.s3.Bucket:
    # S3 delivers server access logs only to buckets encrypted with S3-managed keys (SSE-S3).
    logs = aws.s3.Bucket(
        "access-logs", bucket=config.bucket_name("access-logs", account), force_destroy=False, opts=keep
    )
    _private("access-logs", logs, opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        "access-logs-encryption",
        bucket=logs.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=opts,
    )
    aws.s3.BucketLifecycleConfiguration(
        "access-logs-lifecycle",
        bucket=logs.id,
        rules=[
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": {},
                "expiration": {"days": config.log_retention_days},
            }
        ],
        opts=opts,
    )
    return logs


def create_buckets(
    config: StackConfig, key: aws.kms.Key, account: str, opts: pulumi.ResourceOptions
) -> Buckets:
    keep = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=config.protect_data))
    logs = _log_bucket(config, account, opts, keep)
    data: dict[str, aws.s3.Bucket] = {}
    for name in DATA_BUCKETS:
        bucket = aws.s3.Bucket(name, bucket=config.bucket_name(name, account), force_destroy=False, opts=keep)
        data[name] = bucket
        _private(name, bucket, opts)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts,
        )
        aws.s3.BucketLogging(
            f"{name}-logging", bucket=bucket.id, target_bucket=logs.id, target_prefix=f"{name}/", opts=opts
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(
                lambda a: json.dumps(bucket_policy(a[0], a[1]))
            ),
            opts=opts,
        )
        rules: list[dict[str, object]] = [
            {
                "id": "abort-incomplete-uploads",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            },
        ]
        if name == "bronze":
            aws.s3.BucketVersioning(
                "bronze-versioning",
                bucket=bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=opts,
            )
            rules += [
                {
                    "id": "bronze-to-colder-storage",
                    "status": "Enabled",
                    "filter": {"prefix": "bronze/"},
                    "transitions": [{"days": config.bronze_cold_after_days, "storage_class": "GLACIER_IR"}],
                },
                {
                    "id": "expire-old-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {
                        "noncurrent_days": config.noncurrent_version_expiry_days
                    },
                },
            ]
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=rules, opts=opts)  # type: ignore[arg-type]
    aws.s3.BucketPolicy(
        "access-logs-policy",
        bucket=logs.id,
        policy=pulumi.Output.all(logs.arn, *(b.arn for b in data.values())).apply(
            lambda a: json.dumps(log_bucket_policy(a[0], account, list(a[1:])))
        ),
        opts=opts,
    )
    return Buckets(data=data, logs=logs)
