"""The project's customer-managed key: rotated yearly, named by an alias, used only by the pipeline
roles and decrypted by the dashboard reader."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from bi_infra.config import StackConfig


def create_key(config: StackConfig, opts: pulumi.ResourceOptions) -> aws.kms.Key:
    key = aws.kms.Key(
        "key",
        description=f"Business Insights {config.stack}: every object of the lake, the logs and the secret",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=config.protect_data)),
    )
    aws.kms.Alias("key-alias", name=f"alias/{config.name('lake')}", target_key_id=key.key_id, opts=opts)
    return key


def attach_key_policy(
    key: aws.kms.Key, policy: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> aws.kms.KeyPolicy:
    """The key policy names the roles, which are created after the key: attached as its own resource,
    which whatever encrypts with the key through a service (logs, uploads, the topic) waits for."""
    return aws.kms.KeyPolicy("key-policy", key_id=key.key_id, policy=policy, opts=opts)
