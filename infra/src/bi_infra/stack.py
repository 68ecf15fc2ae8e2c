"""The whole stack, resources in dependency order: key, buckets, secret and network, roles, policies,
Glue (security configuration, jobs, workflow, triggers), the catalog's databases and the alerts."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from bi_infra import access, alerts, catalog, dashboard, glue, iam, kms, sqlserver, starts, storage
from bi_infra.config import StackConfig
from bi_infra.network import create_network
from bi_lake.workflow import WORKFLOW

PROJECT_TAG = "business-insights"


def build(config: StackConfig) -> None:
    provider = aws.Provider(
        "aws",
        region=config.region,
        # Cost-allocation tags on every resource of the stack.
        default_tags={
            "tags": {"project": PROJECT_TAG, "environment": config.stack, "stack": config.name("stack")}
        },
    )
    opts = pulumi.ResourceOptions(provider=provider)
    invoke = pulumi.InvokeOptions(provider=provider)
    account = aws.get_caller_identity(opts=invoke).account_id
    partition = aws.get_partition(opts=invoke).partition

    key = kms.create_key(config, opts)
    buckets = storage.create_buckets(config, key, account, opts)
    secret = sqlserver.create_secret(config, key, opts)
    network = create_network(config, opts, invoke)
    connection = sqlserver.create_connection(config, network, opts)
    roles = iam.create_roles(config, account, partition, opts)

    ec2 = f"arn:{partition}:ec2:{config.region}:{account}"
    arns = pulumi.Output.all(
        key.arn, secret.arn, network.subnet_id, network.security_group_id, *buckets.arns().values()
    ).apply(
        lambda resolved: access.Arns(
            account=account,
            region=config.region,
            partition=partition,
            key=resolved[0],
            secret=resolved[1],
            buckets=dict(zip(buckets.arns(), resolved[4:], strict=True)),
            subnet=f"{ec2}:subnet/{resolved[2]}",
            security_group=f"{ec2}:security-group/{resolved[3]}",
            catalog_namespace_prefix=config.catalog_namespace_prefix,
        )
    )
    iam.attach_policies(roles, arns, opts)
    role_arns = pulumi.Output.all(*(role.arn for role in roles.jobs.values()))
    dashboard_logs = dashboard.log_group_name(config) if config.dashboard else None
    key_policy = kms.attach_key_policy(
        key,
        pulumi.Output.all(arns, role_arns, roles.dashboard.arn).apply(
            lambda a: json.dumps(access.key_policy(a[0], list(a[1]), a[2], dashboard_logs))
        ),
        opts,
    )
    # What encrypts with the key through a service needs the key policy in place first.
    with_key = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[key_policy]))
    pipeline = glue.create_pipeline(config, key, buckets.data, roles.jobs, secret, connection, with_key)
    first = [pipeline.jobs[job.name] for job in WORKFLOW.ordered() if not job.depends_on]
    starts.create_start(
        config, pipeline.workflow, first, buckets.data["bronze"], key, account, partition, opts
    )
    databases = catalog.create_catalog(config, buckets.data, opts)
    topic = alerts.create_alerts(config, pipeline.jobs, key, account, with_key)
    if config.dashboard is not None:
        dashboard.create_dashboard(
            config, network.dashboard, pipeline.lake, key, roles.dashboard, arns, with_key, invoke
        )

    pulumi.export("lake", pulumi.Output.concat("s3://", buckets.data["bronze"].bucket))
    for layer in ("silver", "gold"):
        pulumi.export(f"{layer}_uri", pulumi.Output.concat("s3://", buckets.data[layer].bucket))
    pulumi.export("kms_key_arn", key.arn)
    pulumi.export("source_secret_arn", secret.arn)
    pulumi.export("workflow", pipeline.workflow.name)
    pulumi.export("jobs", {name: job.name for name, job in pipeline.jobs.items()})
    pulumi.export("dashboard_role_arn", roles.dashboard.arn)
    # What a reader outside the stack sets as BI_CATALOG_NAMESPACE_PREFIX (with BI_CATALOG=glue).
    pulumi.export("catalog_namespace_prefix", config.catalog_namespace_prefix)
    for layer, database in databases.items():
        pulumi.export(f"{layer}_database", database.name)
    pulumi.export("alerts_topic", topic.arn)
