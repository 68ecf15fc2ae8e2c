"""How the workflow starts: on the stack's schedule and, where the stack enables it, when an export
lands under the drop prefix of the Bronze bucket.

A Glue workflow has one start trigger. With the schedule alone it is a SCHEDULED trigger. With the
event start it is an EVENT trigger fed by two EventBridge rules, objects created under the drop
prefix and the schedule itself (so a day without an export still runs); it waits out a batch window
from the first event, so a burst of files starts one run. The exporter role is the sender: the one
principal the stack lets write under the drop prefix.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from bi_infra.access import Document, assume_by_principal, assume_role_policy
from bi_infra.config import StackConfig

# Glue's largest batch: the window, not the count, is what closes a burst.
EVENT_BATCH_SIZE = 100


def exporter_policy(bucket_arn: str, drop_prefix: str, key_arn: str) -> Document:
    """Write exports under the drop prefix, encrypted with the project key; nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DropExports",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"{bucket_arn}/{drop_prefix}*"],
            },
            {
                "Sid": "EncryptExports",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey"],
                "Resource": [key_arn],
            },
        ],
    }


def create_start(
    config: StackConfig,
    workflow: aws.glue.Workflow,
    first_jobs: list[aws.glue.Job],
    bronze: aws.s3.Bucket,
    key: aws.kms.Key,
    account: str,
    partition: str,
    opts: pulumi.ResourceOptions,
) -> aws.glue.Trigger:
    starts_the_first_jobs: dict[str, Any] = {
        "workflow_name": workflow.name,
        "actions": [aws.glue.TriggerActionArgs(job_name=job.name) for job in first_jobs],
        "opts": opts,
    }
    if not config.event_start.enabled:
        return aws.glue.Trigger(
            "start",
            name=config.name("start-daily"),
            type="SCHEDULED",
            schedule=config.schedule,
            start_on_creation=True,
            **starts_the_first_jobs,
        )
    start = aws.glue.Trigger(
        "start",
        name=config.name("start-on-event"),
        type="EVENT",
        event_batching_conditions=[
            {"batch_size": EVENT_BATCH_SIZE, "batch_window": config.event_start.batch_window_seconds}
        ],
        **starts_the_first_jobs,
    )
    workflow_arn = workflow.name.apply(
        lambda name: f"arn:{partition}:glue:{config.region}:{account}:workflow/{name}"
    )
    events_role = aws.iam.Role(
        "events-role",
        name=config.name("events-start"),
        assume_role_policy=json.dumps(assume_role_policy("events.amazonaws.com")),
        opts=opts,
    )
    aws.iam.RolePolicy(
        "events-policy",
        role=events_role.id,
        policy=workflow_arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "StartTheWorkflow",
                            "Effect": "Allow",
                            "Action": ["glue:NotifyEvent"],
                            "Resource": [arn],
                        }
                    ],
                }
            )
        ),
        opts=opts,
    )
    aws.s3.BucketNotification("bronze-events", bucket=bronze.id, eventbridge=True, opts=opts)
    landed = aws.cloudwatch.EventRule(
        "export-landed",
        name=config.name("export-landed"),
        description="An export landed in the drop prefix: start the pipeline",
        event_pattern=bronze.bucket.apply(
            lambda name: json.dumps(
                {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {
                        "bucket": {"name": [name]},
                        "object": {"key": [{"prefix": config.event_start.drop_prefix}]},
                    },
                }
            )
        ),
        opts=opts,
    )
    scheduled = aws.cloudwatch.EventRule(
        "scheduled-start",
        name=config.name("scheduled-start"),
        description="The daily schedule, through the same batched start as the exports",
        schedule_expression=config.schedule,
        opts=opts,
    )
    for name, rule in (("export-landed", landed), ("scheduled-start", scheduled)):
        aws.cloudwatch.EventTarget(
            f"{name}-target", rule=rule.name, arn=workflow_arn, role_arn=events_role.arn, opts=opts
        )
    principal = config.event_start.sender_principal_arn or f"arn:{partition}:iam::{account}:root"
    exporter = aws.iam.Role(
        "exporter-role",
        name=config.name("exporter"),
        description=f"The source's exporter: write under {config.event_start.drop_prefix} of Bronze",
        assume_role_policy=json.dumps(assume_by_principal(principal)),
        opts=opts,
    )
    aws.iam.RolePolicy(
        "exporter-policy",
        role=exporter.id,
        policy=pulumi.Output.all(bronze.arn, key.arn).apply(
            lambda a: json.dumps(exporter_policy(a[0], config.event_start.drop_prefix, a[1]))
        ),
        opts=opts,
    )
    pulumi.export("exporter_role_arn", exporter.arn)
    return start
