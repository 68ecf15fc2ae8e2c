"""Alerts and logs: a failed, timed-out or stopped Glue job notifies the team through SNS, and the
jobs' log groups keep their events for the stack's retention."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from bi_infra.config import StackConfig

FAILED_STATES = ("FAILED", "TIMEOUT", "STOPPED")
# A job with a security configuration logs to groups named after it and its role.
LOG_STREAMS = ("output", "error")


def log_group_names(security_configuration: str, role_name: str) -> list[str]:
    return [f"/aws-glue/jobs/{security_configuration}-role/{role_name}/{stream}" for stream in LOG_STREAMS]


def create_alerts(
    config: StackConfig,
    jobs: dict[str, aws.glue.Job],
    key: aws.kms.Key,
    account: str,
    opts: pulumi.ResourceOptions,
) -> aws.sns.Topic:
    topic = aws.sns.Topic("alerts", name=config.name("alerts"), kms_master_key_id=key.arn, opts=opts)
    aws.sns.TopicSubscription(
        "alerts-email", topic=topic.arn, protocol="email", endpoint=config.alert_email, opts=opts
    )
    names = pulumi.Output.all(*(job.name for job in jobs.values()))
    rule = aws.cloudwatch.EventRule(
        "job-failed",
        name=config.name("job-failed"),
        description="A pipeline job failed, timed out or was stopped",
        event_pattern=names.apply(
            lambda job_names: json.dumps(
                {
                    "source": ["aws.glue"],
                    "detail-type": ["Glue Job State Change"],
                    "detail": {"jobName": sorted(job_names), "state": list(FAILED_STATES)},
                }
            )
        ),
        opts=opts,
    )
    aws.sns.TopicPolicy(
        "alerts-policy",
        arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, rule.arn).apply(
            lambda a: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EventBridgePublishes",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": a[0],
                            "Condition": {"ArnEquals": {"aws:SourceArn": a[1]}},
                        }
                    ],
                }
            )
        ),
        opts=opts,
    )
    aws.cloudwatch.EventTarget("job-failed-target", rule=rule.name, arn=topic.arn, opts=opts)
    for job in jobs:
        for group in log_group_names(config.name("glue"), config.name(f"{job}-job")):
            aws.cloudwatch.LogGroup(
                f"{job}-logs-{group.rsplit('/', 1)[1]}",
                name=group,
                retention_in_days=config.log_retention_days,
                kms_key_id=key.arn,
                opts=opts,
            )
    return topic
