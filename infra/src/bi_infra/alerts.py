"""Alerts, logs and the operations view.

- A job that failed, timed out or was stopped on its last attempt notifies the team through SNS (an
  attempt Glue will retry does not: Glue names a retry `<first run id>_attempt_<n>`, so the last
  attempt of a job with R retries is the run whose id ends in `_attempt_R`).
- Gold freshness: each Gold publication emits a metric; the alarm fires when none arrived within the
  stack's `freshnessHours`, missing data counting as breaching, so a run that never starts, fails
  before any code runs or is retried forever is noticed too.
- A monthly AWS Budget for the stack's resources (by its `stack` tag), with e-mails at 80% spent and
  when the forecast passes it.
- One CloudWatch dashboard: each job's duration and rows in and out per run, and Gold's publications.
- The jobs' log groups keep their events for the stack's retention.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from bi_infra.config import StackConfig
from bi_lake import run_metrics
from bi_lake.workflow import WORKFLOW

FAILED_STATES = ("FAILED", "TIMEOUT", "STOPPED")
# A job with a security configuration logs to groups named after it and its role.
LOG_STREAMS = ("output", "error")
BUDGET_ACTUAL_PERCENT, BUDGET_FORECAST_PERCENT = 80, 100


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
    rules = [_last_attempt_failed(config, name, job, topic, opts) for name, job in jobs.items()]
    aws.sns.TopicPolicy(
        "alerts-policy",
        arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, *(rule.arn for rule in rules)).apply(
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
                            "Condition": {"ArnEquals": {"aws:SourceArn": sorted(a[1:])}},
                        },
                        {
                            "Sid": "CloudWatchAlarmsPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": a[0],
                        },
                    ],
                }
            )
        ),
        opts=opts,
    )
    _gold_freshness(config, topic, opts)
    _budget(config, opts)
    _dashboard(config, opts)
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


def last_attempt_pattern(job_name: str, retries: int) -> dict[str, Any]:
    """The Glue state changes of a job's last attempt that ended badly."""
    detail: dict[str, Any] = {"jobName": [job_name], "state": list(FAILED_STATES)}
    if retries:
        detail["jobRunId"] = [{"suffix": f"_attempt_{retries}"}]
    return {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"], "detail": detail}


def _last_attempt_failed(
    config: StackConfig, job: str, glue_job: aws.glue.Job, topic: aws.sns.Topic, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.EventRule:
    retries = config.job_size(job).retries
    rule = aws.cloudwatch.EventRule(
        f"{job}-failed",
        name=config.name(f"{job}-failed"),
        description=f"The {job} job failed, timed out or was stopped on its last attempt",
        event_pattern=glue_job.name.apply(lambda name: json.dumps(last_attempt_pattern(name, retries))),
        opts=opts,
    )
    aws.cloudwatch.EventTarget(f"{job}-failed-target", rule=rule.name, arn=topic.arn, opts=opts)
    return rule


def _gold_freshness(config: StackConfig, topic: aws.sns.Topic, opts: pulumi.ResourceOptions) -> None:
    hours = config.freshness_hours
    aws.cloudwatch.MetricAlarm(
        "gold-freshness",
        name=config.name("gold-stale"),
        alarm_description=f"No Gold publication for {hours} hours",
        namespace=run_metrics.NAMESPACE,
        metric_name=run_metrics.GOLD_PUBLISHED,
        dimensions={run_metrics.STACK_DIMENSION: config.name("stack")},
        statistic="Sum",
        period=3600,
        evaluation_periods=hours,
        datapoints_to_alarm=hours,
        comparison_operator="LessThanThreshold",
        threshold=1,
        treat_missing_data="breaching",
        alarm_actions=[topic.arn],
        ok_actions=[topic.arn],
        opts=opts,
    )


def _budget(config: StackConfig, opts: pulumi.ResourceOptions) -> None:
    notifications = [
        aws.budgets.BudgetNotificationArgs(
            comparison_operator="GREATER_THAN",
            notification_type=kind,
            threshold=percent,
            threshold_type="PERCENTAGE",
            subscriber_email_addresses=[config.alert_email],
        )
        for kind, percent in (("ACTUAL", BUDGET_ACTUAL_PERCENT), ("FORECASTED", BUDGET_FORECAST_PERCENT))
    ]
    aws.budgets.Budget(
        "monthly-budget",
        name=config.name("monthly"),
        budget_type="COST",
        limit_amount=f"{config.monthly_budget_usd:.2f}",
        limit_unit="USD",
        time_unit="MONTHLY",
        # Every resource carries the stack's tag (the provider's default tags); activate it as a cost
        # allocation tag once per account for the filter to see it.
        cost_filters=[
            aws.budgets.BudgetCostFilterArgs(
                name="TagKeyValue", values=[f"user:stack${config.name('stack')}"]
            )
        ],
        notifications=notifications,
        opts=opts,
    )


def dashboard_body(config: StackConfig) -> dict[str, Any]:
    """Run durations and rows per stage, and Gold's publications, from the jobs' own metrics."""
    stack = config.name("stack")

    def per_job(metric: str) -> list[list[Any]]:
        return [
            [
                run_metrics.NAMESPACE,
                metric,
                run_metrics.STACK_DIMENSION,
                stack,
                run_metrics.JOB_DIMENSION,
                job,
            ]
            for job in WORKFLOW.names
        ]

    def widget(title: str, metrics: list[list[Any]], stat: str, x: int, y: int) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "metrics": metrics,
                "stat": stat,
                "period": 86400,
                "region": config.region,
                "view": "timeSeries",
            },
        }

    gold = [[run_metrics.NAMESPACE, run_metrics.GOLD_PUBLISHED, run_metrics.STACK_DIMENSION, stack]]
    return {
        "widgets": [
            widget("Run duration per job (s)", per_job(run_metrics.JOB_SECONDS), "Maximum", 0, 0),
            widget("Gold publications per day", gold, "Sum", 12, 0),
            widget("Rows read per job", per_job(run_metrics.ROWS_IN), "Sum", 0, 6),
            widget("Rows written per job", per_job(run_metrics.ROWS_OUT), "Sum", 12, 6),
        ]
    }


def _dashboard(config: StackConfig, opts: pulumi.ResourceOptions) -> None:
    aws.cloudwatch.Dashboard(
        "operations",
        dashboard_name=config.name("operations"),
        dashboard_body=json.dumps(dashboard_body(config)),
        opts=opts,
    )
