"""One entrypoint for every workflow job on AWS Glue.

Glue passes arguments as `--KEY value` pairs (and some of its own); this reads them without the
`awsglue` package, builds the settings and the job context, and runs the named job from the one
workflow declaration. Example: `--job silver --lake s3://company-lake/prod --run_id 20240101T000000Z-abc123`.

The jobs of one Glue workflow run (Glue passes `--WORKFLOW_RUN_ID` to each) share one run id: their
reports gather in one run report, and a retry or resumed run takes its own lock over at once.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence

from bi_lake import run_metrics
from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.lock import LakeLock
from bi_lake.runs import JobReport, new_run_id, record_job, run_id_of_workflow_run, utc_now
from bi_lake.settings import load_settings
from bi_lake.workflow import WORKFLOW, JobContext, run_job

# Job arguments that map onto settings; everything else Glue passes is ignored.
SETTING_ARGUMENTS = (
    "lake", "bronze_uri", "silver_uri", "gold_uri", "kms_key_id", "source_url", "test_app_pattern",
    "catalog", "catalog_namespace_prefix", "snapshots_kept", "snapshot_days_kept",
)  # fmt: skip


def source_url_from_secret(secret_id: str) -> str:
    """The source's SQLAlchemy URL, kept in Secrets Manager so it never appears in job arguments."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id).get("SecretString")
    except (BotoCoreError, ClientError) as exc:
        raise UserError(f"cannot read the source secret {secret_id}: {exc}") from None
    if not value:
        raise UserError(f"the source secret {secret_id} has no value: set it with put-secret-value")
    return str(value).strip()


def parse_job_arguments(argv: Sequence[str]) -> dict[str, str]:
    """`--KEY value` and `--KEY=value` pairs as a dict; a flag with no value maps to "true"."""
    arguments: dict[str, str] = {}
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        if item.startswith("--"):
            key, equals, value = item[2:].partition("=")
            if not equals:
                has_value = index + 1 < len(items) and not items[index + 1].startswith("--")
                value = items[index + 1] if has_value else "true"
                index += 1 if has_value else 0
            arguments[key.replace("-", "_")] = value
        index += 1
    return arguments


def _run_id(arguments: dict[str, str], lake: Lake, started: dt.datetime) -> str:
    """An explicit `--run_id`; else the run id of the Glue workflow run the job belongs to, shared by
    all its jobs and attempts; else a new one (a job started on its own)."""
    if arguments.get("run_id"):
        return arguments["run_id"]
    if arguments.get("WORKFLOW_RUN_ID"):
        return run_id_of_workflow_run(lake.root, arguments["WORKFLOW_RUN_ID"], started)
    return new_run_id(started)


def _publish_metrics(stack: str, report: JobReport) -> None:
    """The job's figures for the alarms and the operations dashboard; a lost metric never fails a job
    that did its work (the freshness alarm notices a Gold that stops arriving)."""
    try:
        run_metrics.publish(stack, report)
    except Exception as exc:
        print(f"bi job: warning: metrics not published: {type(exc).__name__}: {exc}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_job_arguments(sys.argv[1:] if argv is None else argv)
    try:
        job = WORKFLOW.get(arguments.get("job", ""))
        values = {key: arguments.get(key) for key in SETTING_ARGUMENTS}
        if arguments.get("source_secret_id"):
            values["source_url"] = source_url_from_secret(arguments["source_secret_id"])
        settings = load_settings(**values)
        started = utc_now()
        lake = Lake.from_settings(settings)
        context = JobContext(
            run_id=_run_id(arguments, lake, started),
            run_started_at=started,
            settings=settings,
            lake=lake,
            full_refresh=arguments.get("full_refresh", "false").lower() == "true",
            start=dt.date.fromisoformat(arguments["start"]) if arguments.get("start") else None,
            end=dt.date.fromisoformat(arguments["end"]) if arguments.get("end") else None,
        )
        # One writer per lake, on Glue as locally: the same lock the local runner takes.
        with LakeLock(context.lake.root, context.run_id, settings.lock_stale_after_s,
                      on_takeover=lambda message: print(f"bi job: {message}", file=sys.stderr)):  # fmt: skip
            report = run_job(job, context)
            # The run's report gathers its jobs, as a local `bi run`'s does.
            record_job(lake.root, context.run_id, started, report, WORKFLOW.names)
    except (UserError, ValueError) as exc:
        print(f"bi job: error: {exc}", file=sys.stderr)
        return 1
    if arguments.get("metrics_stack"):
        _publish_metrics(arguments["metrics_stack"], report)
    print(report.model_dump_json(indent=2))
    if report.status == "failed":
        print(f"bi job: error: {report.error}", file=sys.stderr)
    return 0 if report.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
