"""How the ingest job reaches SQL Server: the connection URL in Secrets Manager (its value is set out of
band, never in code or config) and a Glue network connection into the VPC."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from bi_infra.config import StackConfig
from bi_infra.network import Network


def create_secret(
    config: StackConfig, key: aws.kms.Key, opts: pulumi.ResourceOptions
) -> aws.secretsmanager.Secret:
    return aws.secretsmanager.Secret(
        "sqlserver-url",
        name=config.name("sqlserver-url"),
        description="SQLAlchemy URL of the ordering database (mssql+pymssql://user:password@host/db); "
        "set with `aws secretsmanager put-secret-value`",
        kms_key_id=key.arn,
        recovery_window_in_days=7,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=config.protect_data)),
    )


def create_connection(
    config: StackConfig, network: Network, opts: pulumi.ResourceOptions
) -> aws.glue.Connection:
    return aws.glue.Connection(
        "sqlserver-network",
        name=config.name("sqlserver-network"),
        connection_type="NETWORK",
        physical_connection_requirements={
            "subnet_id": network.subnet_id,
            "security_group_id_lists": [network.security_group_id],
            "availability_zone": network.availability_zone,
        },
        opts=opts,
    )
