"""The Glue side: a security configuration encrypting what jobs write, the jobs built from the workflow
declaration with each job's zip of wheels, and a Glue Workflow whose triggers follow the declaration's
edges (how it starts is `starts.py`'s)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from bi_infra.access import ACCESS, LAYER_PREFIX
from bi_infra.config import StackConfig
from bi_infra.glue5 import GLUE_VERSION
from bi_infra.wheelhouse import read_manifest
from bi_lake.workflow import WORKFLOW, JobSpec

SCRIPT = Path(__file__).resolve().parents[2] / "glue" / "run_job.py"


@dataclass(frozen=True)
class Pipeline:
    jobs: dict[str, aws.glue.Job]
    workflow: aws.glue.Workflow
    followers: dict[str, aws.glue.Trigger]
    security_configuration: aws.glue.SecurityConfiguration
    # Where the jobs are told the lake is: `root`, `bronze`, `silver`, `gold` (s3:// locations).
    lake: dict[str, pulumi.Output[str]]


def job_wheels(wheels_dir: Path) -> dict[str, Path]:
    """Each job's zip of wheels, as `python -m bi_infra.wheelhouse --out dist/glue` built them."""
    return read_manifest(wheels_dir)


def _security_configuration(
    config: StackConfig, key: aws.kms.Key, opts: pulumi.ResourceOptions
) -> aws.glue.SecurityConfiguration:
    return aws.glue.SecurityConfiguration(
        "glue-security",
        name=config.name("glue"),
        encryption_configuration={
            "s3_encryption": {"s3_encryption_mode": "SSE-KMS", "kms_key_arn": key.arn},
            "cloudwatch_encryption": {"cloudwatch_encryption_mode": "SSE-KMS", "kms_key_arn": key.arn},
            "job_bookmarks_encryption": {"job_bookmarks_encryption_mode": "CSE-KMS", "kms_key_arn": key.arn},
        },
        opts=opts,
    )


def _upload(
    name: str, bucket: aws.s3.Bucket, key: str, source: Path, kms: aws.kms.Key, opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    aws.s3.BucketObjectv2(
        name,
        bucket=bucket.id,
        key=key,
        source=pulumi.FileAsset(str(source)),
        server_side_encryption="aws:kms",
        kms_key_id=kms.arn,
        opts=opts,
    )
    return pulumi.Output.concat("s3://", bucket.bucket, "/", key)


def _arguments(
    stack: str,
    catalog_namespace_prefix: str,
    job: JobSpec,
    lake: dict[str, pulumi.Output[str]],
    modules: pulumi.Output[str],
    secret: aws.secretsmanager.Secret,
    key: aws.kms.Key,
) -> dict[str, pulumi.Input[str]]:
    arguments: dict[str, pulumi.Input[str]] = {
        "--job": job.name,
        "--lake": lake["root"],
        "--bronze_uri": lake["bronze"],
        "--silver_uri": lake["silver"],
        "--gold_uri": lake["gold"],
        "--kms_key_id": key.arn,
        # Silver's and Gold's Iceberg tables are registered in the stack's Glue databases
        # (`<prefix>silver`, `<prefix>gold`: catalog.py).
        "--catalog": "glue",
        "--catalog_namespace_prefix": catalog_namespace_prefix,
        "--additional-python-modules": modules,
        # The zip is the only index: a job start reaches no package index, so no NAT and no drift.
        "--python-modules-installer-option": "--no-index",
        "--enable-metrics": "true",
        # The dimension of the jobs' own metrics, which the alarms and the operations dashboard read.
        "--metrics_stack": stack,
        "--enable-continuous-cloudwatch-log": "true",
        "--job-language": "python",
    }
    if ACCESS[job.name].reads_secret:
        arguments["--source_secret_id"] = secret.arn
    return arguments


def create_pipeline(
    config: StackConfig,
    key: aws.kms.Key,
    buckets: dict[str, aws.s3.Bucket],
    roles: dict[str, aws.iam.Role],
    secret: aws.secretsmanager.Secret,
    connection: aws.glue.Connection,
    opts: pulumi.ResourceOptions,
) -> Pipeline:
    security = _security_configuration(config, key, opts)
    artifacts = buckets["artifacts"]
    script = _upload("job-script", artifacts, "scripts/run_job.py", SCRIPT, key, opts)
    # The key names the product's version and the zip's content hash: a new build is a new object, and
    # the old ones are kept (not deleted when the program stops declaring them) so a job can be pointed
    # back at them.
    kept = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
    modules = {
        job: _upload(f"wheels-{job}-{path.name}", artifacts, f"wheels/{path.name}", path, key, kept)
        for job, path in job_wheels(config.wheels_path).items()
    }
    lake = {
        "root": pulumi.Output.concat("s3://", buckets["bronze"].bucket),
        **{
            layer: pulumi.Output.concat("s3://", buckets[layer].bucket, "/", LAYER_PREFIX[layer]).apply(
                lambda uri: uri.rstrip("/")
            )
            for layer in ("bronze", "silver", "gold")
        },
    }
    jobs: dict[str, aws.glue.Job] = {}
    for job in WORKFLOW.ordered():
        size = config.job_size(job.name)
        jobs[job.name] = aws.glue.Job(
            f"{job.name}-job",
            name=config.name(job.name),
            description=job.description,
            role_arn=roles[job.name].arn,
            glue_version=GLUE_VERSION,
            command={"name": "glueetl", "script_location": script, "python_version": "3"},
            worker_type=size.worker_type,
            number_of_workers=size.workers,
            execution_class="FLEX" if size.flex else "STANDARD",
            timeout=size.timeout_minutes,
            max_retries=size.retries,
            security_configuration=security.name,
            connections=[connection.name] if ACCESS[job.name].uses_network else None,
            execution_property={"max_concurrent_runs": 1},
            default_arguments=_arguments(
                config.name("stack"),
                config.catalog_namespace_prefix,
                job,
                lake,
                modules[job.name],
                secret,
                key,
            ),
            opts=opts,
        )
    workflow = aws.glue.Workflow(
        "workflow",
        name=config.name("daily"),
        description="The jobs of bi_lake.workflow, in its order",
        max_concurrent_runs=1,
        opts=opts,
    )
    followers = {
        job.name: aws.glue.Trigger(
            f"{job.name}-trigger",
            name=config.name(f"{job.name}-after-{'-'.join(job.depends_on)}"),
            type="CONDITIONAL",
            workflow_name=workflow.name,
            start_on_creation=True,
            predicate={
                "logical": "AND",
                "conditions": [
                    {"job_name": jobs[upstream].name, "state": "SUCCEEDED", "logical_operator": "EQUALS"}
                    for upstream in job.depends_on
                ],
            },
            actions=[aws.glue.TriggerActionArgs(job_name=jobs[job.name].name)],
            opts=opts,
        )
        for job in WORKFLOW.ordered()
        if job.depends_on
    }
    return Pipeline(
        jobs=jobs, workflow=workflow, followers=followers, security_configuration=security, lake=lake
    )
