"""The Pulumi program under mocks, one test per policy, for the dev and prod stack files as they are."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bi_infra.access import ACCESS
from bi_infra.catalog import hive_type
from bi_lake.workflow import WORKFLOW
from bi_metrics.gold import DATASETS
from tests.infra.conftest import ACCOUNT, Stack

BUCKET = "aws:s3/bucket:Bucket"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
JOB, TRIGGER, OBJECT = "aws:glue/job:Job", "aws:glue/trigger:Trigger", "aws:s3/bucketObjectv2:BucketObjectv2"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/key-1234"
DATA_BUCKETS = ("bronze", "silver", "gold", "artifacts")


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> Stack:
    found: Stack = request.getfixturevalue(request.param)
    return found


def _bucket_id(stack: Stack, name: str) -> str:
    stack.named(BUCKET, name)
    return f"{name}-id"


def _statements(document: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(document)["Statement"]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_data_bucket_is_encrypted_with_the_project_key_and_blocks_public_access(stack: Stack) -> None:
    buckets = {b.name for b in stack.of_type(BUCKET)}
    assert buckets == {*DATA_BUCKETS, "access-logs"}
    encryption = {e.inputs["bucket"]: e.inputs["rules"][0] for e in stack.of_type(ENCRYPTION)}
    for name in DATA_BUCKETS:
        rule = encryption[_bucket_id(stack, name)]
        assert rule["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": KEY_ARN,
        }
        assert rule["bucketKeyEnabled"] is True
    # S3 delivers access logs only into buckets with S3-managed keys: the one bucket not on the project key.
    logs = encryption["access-logs-id"]
    assert logs["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    blocked = {b.inputs["bucket"]: b.inputs for b in stack.of_type(PUBLIC_BLOCK)}
    for name in buckets:
        settings = blocked[f"{name}-id"]
        assert all(settings[flag] is True for flag in
                   ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))  # fmt: skip


def test_every_bucket_policy_denies_insecure_transport_and_data_buckets_deny_other_encryption(
    stack: Stack,
) -> None:
    policies = {p.inputs["bucket"]: _statements(p.inputs["policy"]) for p in stack.of_type(BUCKET_POLICY)}
    assert set(policies) == {f"{b.name}-id" for b in stack.of_type(BUCKET)}
    for bucket, statements in policies.items():
        tls = [s for s in statements if s["Effect"] == "Deny" and
               s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]  # fmt: skip
        assert tls and tls[0]["Action"] == "s3:*" and tls[0]["Principal"] == "*", bucket
        if bucket != "access-logs-id":
            by_sid = {s["Sid"]: s for s in statements}
            assert all(by_sid[sid]["Effect"] == "Deny" and by_sid[sid]["Action"] == "s3:PutObject"
                       for sid in ("DenyOtherEncryption", "DenyOtherKeys", "DenyKmsWithoutTheKey"))  # fmt: skip
            assert by_sid["DenyOtherEncryption"]["Condition"] == {
                "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
            }
            assert by_sid["DenyOtherKeys"]["Condition"] == {
                "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN}
            }
            assert by_sid["DenyKmsWithoutTheKey"]["Condition"] == {
                "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
            }


def _role_statements(stack: Stack, job: str) -> list[dict[str, Any]]:
    policy = stack.named(ROLE_POLICY, f"{job}-policy")
    assert policy.inputs["role"] == f"{job}-role-id"
    return _statements(policy.inputs["policy"])


@pytest.mark.parametrize("job", WORKFLOW.names)
def test_each_job_role_can_do_exactly_its_job(stack: Stack, job: str) -> None:
    statements = _role_statements(stack, job)
    access = ACCESS[job]
    prefix = {"bronze": "bronze/", "silver": "", "gold": ""}
    written = {r for s in statements if "s3:PutObject" in s["Action"] for r in s["Resource"]}
    expected_writes = {f"arn:aws:s3:::{stack.config.name(layer)}/{prefix[layer]}*" for layer in access.writes}
    root = {f"arn:aws:s3:::{stack.config.name('bronze')}/{o}" for o in ("_runs/*", "_lock.json")}
    assert written == expected_writes | root
    read = {r for s in statements if s["Action"] == ["s3:GetObject"] for r in s["Resource"]}
    expected_reads = {f"arn:aws:s3:::{stack.config.name(layer)}/{prefix[layer]}*" for layer in access.reads}
    artifacts = {f"arn:aws:s3:::{stack.config.name('artifacts')}/{p}" for p in ("scripts/*", "wheels/*")}
    assert read == expected_reads | artifacts
    other_layers = {"bronze", "silver", "gold"} - {*access.reads, *access.writes}
    for statement in statements:
        for resource in statement["Resource"]:
            assert not any(
                f":::{stack.config.name(layer)}/" in resource for layer in other_layers - {"bronze"}
            )
    assert any(s["Action"] == ["secretsmanager:GetSecretValue"] for s in statements) == access.reads_secret
    kms = next(s for s in statements if s["Sid"] == "UseTheProjectKey")
    assert kms["Resource"] == [KEY_ARN] and "kms:*" not in kms["Action"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert all(action != "*" and not action.endswith(":*") for action in statement["Action"]), statement
        if statement["Resource"] == ["*"]:
            # Only what IAM cannot scope to a resource: EC2's Describe calls, and Glue's own metrics.
            assert all(a.startswith("ec2:Describe") for a in statement["Action"]) or (
                statement["Action"] == ["cloudwatch:PutMetricData"]
                and statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}
            ), statement


def test_the_dashboard_role_reads_gold_and_decrypts_and_writes_nothing(stack: Stack) -> None:
    statements = _statements(stack.named(ROLE_POLICY, "dashboard-policy").inputs["policy"])
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetObject", "kms:Decrypt", "kms:DescribeKey"}
    gold = next(s for s in statements if s["Sid"] == "ReadGold")
    assert gold["Resource"] == [f"arn:aws:s3:::{stack.config.name('gold')}/*"]
    health = [s for s in statements if s["Sid"].startswith("ListHealth")]
    assert health and all(s["Condition"]["StringLike"]["s3:prefix"] for s in health), "listing is by prefix"
    silver = stack.config.name("silver")
    assert not any(silver in r and not r.endswith("/_state/*") for s in statements
                   if not s["Sid"].startswith("ListHealth") for r in s["Resource"])  # fmt: skip


def test_the_key_rotates_and_only_the_pipeline_roles_and_the_dashboard_may_use_it(stack: Stack) -> None:
    key = stack.named("aws:kms/key:Key", "key")
    assert key.inputs["enableKeyRotation"] is True
    alias = stack.named("aws:kms/alias:Alias", "key-alias")
    assert alias.inputs["name"] == f"alias/{stack.config.name('lake')}"
    statements = _statements(stack.named("aws:kms/keyPolicy:KeyPolicy", "key-policy").inputs["policy"])
    users = next(s for s in statements if s["Sid"] == "PipelineRolesUseTheKey")
    assert sorted(users["Principal"]["AWS"]) == sorted(
        f"arn:aws:iam::{ACCOUNT}:role/{stack.config.name(f'{job}-job')}" for job in WORKFLOW.names
    )
    reader = next(s for s in statements if s["Sid"] == "DashboardDecrypts")
    assert reader["Principal"]["AWS"] == [
        f"arn:aws:iam::{ACCOUNT}:role/{stack.config.name('dashboard-reader')}"
    ]
    assert reader["Action"] == ["kms:Decrypt", "kms:DescribeKey"]


def test_the_workflow_triggers_follow_the_declared_dag(stack: Stack) -> None:
    triggers = stack.of_type(TRIGGER)
    assert {t.inputs["workflowName"] for t in triggers} == {stack.config.name("daily")}
    start = [t for t in triggers if t.inputs["type"] in {"SCHEDULED", "EVENT"}]
    assert len(start) == 1
    assert [a["jobName"] for a in start[0].inputs["actions"]] == [
        stack.config.name(job.name) for job in WORKFLOW.ordered() if not job.depends_on
    ]
    edges = set()
    for trigger in triggers:
        if trigger.inputs["type"] != "CONDITIONAL":
            continue
        conditions = trigger.inputs["predicate"]["conditions"]
        assert all(c["state"] == "SUCCEEDED" for c in conditions)
        for action in trigger.inputs["actions"]:
            edges |= {(c["jobName"], action["jobName"]) for c in conditions}
    declared = {
        (stack.config.name(up), stack.config.name(job.name)) for job in WORKFLOW.jobs for up in job.depends_on
    }
    assert edges == declared


def test_every_job_has_a_timeout_its_script_its_wheels_and_the_security_configuration(stack: Stack) -> None:
    uploaded = {o.inputs["key"]: o.inputs for o in stack.of_type(OBJECT)}
    assert all(o["serverSideEncryption"] == "aws:kms" and o["kmsKeyId"] == KEY_ARN for o in uploaded.values())
    security = stack.named("aws:glue/securityConfiguration:SecurityConfiguration", "glue-security")
    encryption = security.inputs["encryptionConfiguration"]
    assert encryption["s3Encryption"] == {"s3EncryptionMode": "SSE-KMS", "kmsKeyArn": KEY_ARN}
    assert encryption["cloudwatchEncryption"]["cloudwatchEncryptionMode"] == "SSE-KMS"
    jobs = {j.inputs["name"]: j.inputs for j in stack.of_type(JOB)}
    assert set(jobs) == {stack.config.name(job) for job in WORKFLOW.names}
    artifacts = f"s3://{stack.config.name('artifacts')}"
    for spec in WORKFLOW.jobs:
        job = jobs[stack.config.name(spec.name)]
        size = stack.config.job_size(spec.name)
        assert job["timeout"] == size.timeout_minutes and job["maxRetries"] == size.retries
        assert job["glueVersion"] == "5.0" and job["securityConfiguration"] == security.inputs["name"]
        assert (
            job["command"]["scriptLocation"] == f"{artifacts}/scripts/run_job.py"
            and "scripts/run_job.py" in uploaded
        )
        assert job["defaultArguments"]["--additional-python-modules"].startswith(f"{artifacts}/wheels/")
        assert job["defaultArguments"]["--kms_key_id"] == KEY_ARN
        assert ("--source_secret_id" in job["defaultArguments"]) == ACCESS[spec.name].reads_secret
        assert job["numberOfWorkers"] == size.workers and job["workerType"] == size.worker_type
        assert job["executionClass"] == ("FLEX" if size.flex else "STANDARD")
        assert "--source_url" not in job["defaultArguments"], "the source URL lives in the secret only"


def test_the_catalogue_has_a_table_per_gold_dataset_with_its_declared_columns(stack: Stack) -> None:
    tables = {t.inputs["name"]: t.inputs for t in stack.of_type("aws:glue/catalogTable:CatalogTable")}
    assert set(tables) == {d.name for d in DATASETS}
    for dataset in DATASETS:
        table = tables[dataset.name]
        columns = [(c["name"], c["type"]) for c in table["storageDescriptor"]["columns"]]
        assert columns == [(c.name, hive_type(c.type)) for c in dataset.columns]
        location = f"s3://{stack.config.name('gold')}/_athena/{dataset.name}/"
        assert table["storageDescriptor"]["location"] == location
        if dataset.partition_by:
            assert table["partitionKeys"] == [{"name": dataset.partition_by, "type": "date"}]
            assert table["parameters"]["projection.enabled"] == "true"
            assert (
                table["parameters"]["storage.location.template"] == f"{location}order_month=${{order_month}}/"
            )
        else:
            assert "partitionKeys" not in table and "projection.enabled" not in table["parameters"]


def test_failed_jobs_alert_by_email_and_logs_are_kept_for_the_retention(stack: Stack) -> None:
    rule = stack.named("aws:cloudwatch/eventRule:EventRule", "job-failed")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["state"] == ["FAILED", "TIMEOUT", "STOPPED"]
    assert pattern["detail"]["jobName"] == sorted(stack.config.name(job) for job in WORKFLOW.names)
    subscription = stack.named("aws:sns/topicSubscription:TopicSubscription", "alerts-email")
    assert (
        subscription.inputs["protocol"] == "email"
        and subscription.inputs["endpoint"] == stack.config.alert_email
    )
    groups = stack.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 2 * len(WORKFLOW.names)
    assert all(g.inputs["retentionInDays"] == stack.config.log_retention_days for g in groups)


def test_every_resource_is_tagged_through_the_stacks_provider(stack: Stack) -> None:
    provider = stack.named("pulumi:providers:aws", "aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags == {"project": "business-insights", "environment": stack.config.stack,
                    "stack": stack.config.name("stack")}  # fmt: skip
    for resource in stack.resources:
        if resource.type.startswith("aws:"):
            assert resource.provider is not None and "$pulumi:providers:aws::aws::" in resource.provider, (
                resource.name
            )


def test_both_stacks_build_and_prod_differs_where_its_config_says(dev: Stack, prod: Stack) -> None:
    dev_start = next(t for t in dev.of_type(TRIGGER) if t.inputs["type"] != "CONDITIONAL")
    prod_start = next(t for t in prod.of_type(TRIGGER) if t.inputs["type"] != "CONDITIONAL")
    assert dev_start.inputs["type"] == "EVENT" and dev.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert prod_start.inputs["type"] == "SCHEDULED" and prod_start.inputs["schedule"] == prod.config.schedule
    assert not [r for r in prod.resources if r.name == "export-landed"]
    classes = {s.config.stack: {j.inputs["name"].rsplit("-", 1)[1]: j.inputs["executionClass"] for j in s.of_type(JOB)}
               for s in (dev, prod)}  # fmt: skip
    assert not prod.config.job_size("silver").flex and dev.config.job_size("silver").flex
    assert classes["prod"]["silver"] == "STANDARD" != classes["dev"]["silver"]
    lifecycle = {s.config.stack: s.named("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                                         "bronze-lifecycle").inputs["rules"] for s in (dev, prod)}  # fmt: skip
    cold = {stack: next(r for r in rules if r["id"] == "bronze-to-colder-storage")["transitions"][0]["days"]
            for stack, rules in lifecycle.items()}  # fmt: skip
    assert cold == {"dev": dev.config.bronze_cold_after_days, "prod": prod.config.bronze_cold_after_days}
    assert cold["dev"] != cold["prod"]
    assert {b.inputs["bucket"] for b in dev.of_type(BUCKET)}.isdisjoint(
        {b.inputs["bucket"] for b in prod.of_type(BUCKET)}
    )
