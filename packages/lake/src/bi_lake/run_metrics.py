"""What a deployed job tells CloudWatch when it ends, declared once for the jobs, the alarms and the
operations dashboard.

Per job and stack: how long it ran, the rows it read and wrote, and whether it failed on its last
attempt; per stack: a Gold publication, which the freshness alarm waits for.
"""

from __future__ import annotations

from typing import Any

from bi_lake.runs import JobReport

NAMESPACE = "BusinessInsights"
STACK_DIMENSION, JOB_DIMENSION = "Stack", "Job"
JOB_SECONDS, ROWS_IN, ROWS_OUT = "JobSeconds", "RowsIn", "RowsOut"
GOLD_PUBLISHED = "GoldPublished"
JOB_METRICS = (JOB_SECONDS, ROWS_IN, ROWS_OUT)
STACK_METRICS = (GOLD_PUBLISHED,)
# The job whose success publishes Gold.
PUBLISHING_JOB = "gold"


def job_metrics(stack: str, report: JobReport) -> list[dict[str, Any]]:
    """The metric data (PutMetricData's shape) of one finished job."""
    job = [{"Name": STACK_DIMENSION, "Value": stack}, {"Name": JOB_DIMENSION, "Value": report.job}]
    data: list[dict[str, Any]] = [
        {"MetricName": JOB_SECONDS, "Dimensions": job, "Value": report.seconds, "Unit": "Seconds"},
        {
            "MetricName": ROWS_IN,
            "Dimensions": job,
            "Value": sum(t.rows_in for t in report.tables),
            "Unit": "Count",
        },
        {
            "MetricName": ROWS_OUT,
            "Dimensions": job,
            "Value": sum(t.rows_out for t in report.tables),
            "Unit": "Count",
        },
    ]
    if report.job == PUBLISHING_JOB and report.status == "succeeded":
        stack_only = [{"Name": STACK_DIMENSION, "Value": stack}]
        data.append({"MetricName": GOLD_PUBLISHED, "Dimensions": stack_only, "Value": 1, "Unit": "Count"})
    return data


def publish(stack: str, report: JobReport, client: Any = None) -> None:
    """Send a job's metrics to CloudWatch (through the standard credential chain and endpoint)."""
    if client is None:
        import boto3

        client = boto3.client("cloudwatch")
    client.put_metric_data(Namespace=NAMESPACE, MetricData=job_metrics(stack, report))
