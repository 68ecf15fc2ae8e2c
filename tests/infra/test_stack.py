"""The Pulumi program under mocks, one test per policy, for the dev and prod stack files as they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bi_infra.access import ACCESS
from bi_infra.config import CATALOG_LAYERS, CatalogLayer, load_stack_file, parse, stack_file
from bi_lake.errors import UserError
from bi_lake.run_metrics import GOLD_PUBLISHED, JOB_SECONDS, NAMESPACE, ROWS_IN, ROWS_OUT
from bi_lake.settings import Settings, load_settings
from bi_lake.workflow import WORKFLOW
from bi_transform.glue.entrypoint import SETTING_ARGUMENTS, parse_job_arguments
from tests.infra.conftest import ACCOUNT, REGION, Stack

BUCKET = "aws:s3/bucket:Bucket"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
JOB, TRIGGER, OBJECT = "aws:glue/job:Job", "aws:glue/trigger:Trigger", "aws:s3/bucketObjectv2:BucketObjectv2"
EVENT_RULE, EVENT_TARGET = "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/key-1234"
DATA_BUCKETS = ("bronze", "silver", "gold", "artifacts")
DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"
# What pyiceberg's Glue catalog calls to load, create, commit (UpdateTable on the version read) and drop.
TABLE_READS = {"glue:GetDatabase", "glue:GetTable", "glue:GetTables"}
TABLE_WRITES = {"glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"}


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest, wheels: Path) -> Stack:
    # Named so the markers see it: the stacks are declared with the jobs' wheels, built for them.
    found: Stack = request.getfixturevalue(request.param)
    return found


def _bucket_id(stack: Stack, name: str) -> str:
    stack.named(BUCKET, name)
    return f"{name}-id"


def _bucket(stack: Stack, what: str) -> str:
    return stack.config.bucket_name(what, ACCOUNT)


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
    expected_writes = {f"arn:aws:s3:::{_bucket(stack, layer)}/{prefix[layer]}*" for layer in access.writes}
    root = {
        f"arn:aws:s3:::{_bucket(stack, 'bronze')}/{o}" for o in ("_runs/*", "_workflow_runs/*", "_lock.json")
    }
    assert written == expected_writes | root
    read = {r for s in statements if s["Action"] == ["s3:GetObject"] for r in s["Resource"]}
    expected_reads = {f"arn:aws:s3:::{_bucket(stack, layer)}/{prefix[layer]}*" for layer in access.reads}
    artifacts = {f"arn:aws:s3:::{_bucket(stack, 'artifacts')}/{p}" for p in ("scripts/*", "wheels/*")}
    assert read == expected_reads | artifacts
    other_layers = {"bronze", "silver", "gold"} - {*access.reads, *access.writes}
    for statement in statements:
        for resource in statement["Resource"]:
            assert not any(f":::{_bucket(stack, layer)}/" in resource for layer in other_layers - {"bronze"})
    assert any(s["Action"] == ["secretsmanager:GetSecretValue"] for s in statements) == access.reads_secret
    kms = next(s for s in statements if s["Sid"] == "UseTheProjectKey")
    assert kms["Resource"] == [KEY_ARN] and "kms:*" not in kms["Action"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert all(action != "*" and not action.endswith(":*") for action in statement["Action"]), statement
        if statement["Resource"] == ["*"]:
            # Only what IAM cannot scope to a resource: EC2's Describe calls, and the jobs' metrics.
            assert all(a.startswith("ec2:Describe") for a in statement["Action"]) or (
                statement["Action"] == ["cloudwatch:PutMetricData"]
                and statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["Glue", NAMESPACE]}}
            ), statement


def _database_resources(stack: Stack, layer: CatalogLayer) -> list[str]:
    database = stack.config.database(layer)
    return [f"{GLUE}:catalog", f"{GLUE}:database/{database}", f"{GLUE}:table/{database}/*"]


def _catalog_grants(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Glue Data Catalog resource -> the actions granted on it (the connection look-up aside)."""
    grants: dict[str, set[str]] = {}
    for statement in statements:
        actions = {a for a in statement["Action"] if a.startswith("glue:") and a != "glue:GetConnection"}
        for resource in statement["Resource"] if actions else ():
            grants.setdefault(resource, set()).update(actions)
    return grants


@pytest.mark.parametrize("job", WORKFLOW.names)
def test_a_job_role_commits_tables_in_its_own_layers_database_only(stack: Stack, job: str) -> None:
    access = ACCESS[job]
    expected: dict[str, set[str]] = {}
    for layer in CATALOG_LAYERS:
        actions = TABLE_READS | TABLE_WRITES if layer in access.writes else TABLE_READS
        if layer in {*access.reads, *access.writes}:
            for resource in _database_resources(stack, layer):
                expected.setdefault(resource, set()).update(actions)
    assert _catalog_grants(_role_statements(stack, job)) == expected
    # The stack creates the databases: no job creates, changes or deletes one, nor lists the catalog.
    actions = {a for s in _role_statements(stack, job) for a in s["Action"]}
    assert not {a for a in actions if a.startswith("glue:") and "Database" in a} - {"glue:GetDatabase"}
    assert "glue:GetDatabases" not in actions


def test_the_dashboard_role_reads_golds_catalog_entries_and_writes_none(stack: Stack) -> None:
    statements = _statements(stack.named(ROLE_POLICY, "dashboard-policy").inputs["policy"])
    catalog, silver_database, _ = _database_resources(stack, "silver")
    # Of Silver's catalog, only the entry of the table whose commits carry Silver's run record.
    silver_record = {
        r: {"glue:GetTable"}
        for r in (catalog, silver_database, f"{silver_database.replace(':database/', ':table/')}/fct_order")
    }
    expected = {r: set(TABLE_READS) for r in _database_resources(stack, "gold")}
    for resource, actions in silver_record.items():
        expected.setdefault(resource, set()).update(actions)
    assert _catalog_grants(statements) == expected


def test_the_dashboard_role_reads_gold_and_decrypts_and_writes_nothing(stack: Stack) -> None:
    statements = _statements(stack.named(ROLE_POLICY, "dashboard-policy").inputs["policy"])
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetObject", "kms:Decrypt", "kms:DescribeKey", *TABLE_READS}
    gold = next(s for s in statements if s["Sid"] == "ReadGold")
    assert gold["Resource"] == [f"arn:aws:s3:::{_bucket(stack, 'gold')}/*"]
    health = [s for s in statements if s["Sid"].startswith("ListHealth")]
    assert health and all(s["Condition"]["StringLike"]["s3:prefix"] for s in health), "listing is by prefix"
    silver = stack.config.name("silver")
    assert not any(silver in r and not r.endswith("/fct_order/metadata/*") for s in statements
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
    artifacts = f"s3://{_bucket(stack, 'artifacts')}"
    for spec in WORKFLOW.jobs:
        job = jobs[stack.config.name(spec.name)]
        size = stack.config.job_size(spec.name)
        assert job["timeout"] == size.timeout_minutes and job["maxRetries"] == size.retries
        assert job["defaultArguments"]["--metrics_stack"] == stack.config.name("stack")
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


def test_every_job_registers_its_tables_in_the_stacks_glue_databases(stack: Stack) -> None:
    for spec in WORKFLOW.jobs:
        arguments = next(j.inputs["defaultArguments"] for j in stack.of_type(JOB)
                         if j.inputs["name"] == stack.config.name(spec.name))  # fmt: skip
        assert arguments["--catalog"] == "glue"
        assert arguments["--catalog_namespace_prefix"] == stack.config.catalog_namespace_prefix
        # What the Glue entrypoint makes of them: every setting the stack passes reaches the job.
        parsed = parse_job_arguments([word for pair in arguments.items() for word in pair])
        assert set(parsed) & set(Settings.model_fields) <= set(SETTING_ARGUMENTS)
        passed = {key for key in parsed if key in SETTING_ARGUMENTS}
        settings = load_settings(**{key: parsed[key] for key in passed})
        assert (settings.catalog, settings.catalog_namespace_prefix) == (
            "glue",
            stack.config.catalog_namespace_prefix,
        )


def test_the_catalog_is_a_database_per_iceberg_layer_named_as_the_jobs_name_it(stack: Stack) -> None:
    databases = {d.name: d.inputs for d in stack.of_type(DATABASE)}
    assert (
        set(databases)
        == {f"{layer}-database" for layer in CATALOG_LAYERS}
        == {"silver-database", "gold-database"}
    )
    for layer in CATALOG_LAYERS:
        database = databases[f"{layer}-database"]
        # The stack's names with `_` for `-`: the gold database keeps the name it had before its tables
        # became Iceberg tables.
        assert database["name"] == stack.config.name(layer).replace("-", "_") == stack.config.database(layer)
        assert database["locationUri"] == f"s3://{_bucket(stack, layer)}"
        assert "Iceberg" in database["description"]
    # The jobs' and the dashboard's setting: a prefix the settings accept, naming the same databases.
    settings = load_settings(catalog="glue", catalog_namespace_prefix=stack.config.catalog_namespace_prefix)
    assert {f"{settings.catalog_namespace_prefix}{layer}" for layer in CATALOG_LAYERS} == {
        d["name"] for d in databases.values()
    }


def test_the_stack_declares_no_table_no_manifest_and_no_partition_projection(stack: Stack) -> None:
    assert not stack.of_type("aws:glue/catalogTable:CatalogTable")
    assert not stack.of_type("aws:glue/partition:Partition")
    assert not stack.of_type("aws:glue/crawler:Crawler")
    declared = json.dumps([r.inputs for r in stack.resources], default=str)
    for relic in ("projection.enabled", "SymlinkTextInputFormat", "_athena", "storage.location.template"):
        assert relic not in declared, relic


def test_a_stack_whose_name_makes_no_glue_database_name_is_one_line() -> None:
    region, settings = stack_file("dev")
    with pytest.raises(UserError) as raised:
        parse("Dev.EU", region, settings)
    assert "Glue database name" in str(raised.value) and "\n" not in str(raised.value)


def test_a_job_alerts_by_email_when_its_last_attempt_fails_not_before(stack: Stack) -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
    for job in WORKFLOW.names:
        pattern = json.loads(stack.named(EVENT_RULE, f"{job}-failed").inputs["eventPattern"])
        assert pattern["detail"]["state"] == ["FAILED", "TIMEOUT", "STOPPED"]
        assert pattern["detail"]["jobName"] == [stack.config.name(job)]
        retries = stack.config.job_size(job).retries
        # Glue names the n-th retry of a run `<run id>_attempt_<n>`: only the last one alerts.
        assert pattern["detail"].get("jobRunId") == ([{"suffix": f"_attempt_{retries}"}] if retries else None)
        target = stack.named(EVENT_TARGET, f"{job}-failed-target")
        assert target.inputs["arn"] == topic and target.inputs["rule"] == stack.config.name(f"{job}-failed")
    assert {stack.config.job_size(job).retries for job in WORKFLOW.names} == (
        {1} if stack.config.stack == "prod" else {0}
    )


def test_gold_going_stale_alarms_with_missing_data_breaching(stack: Stack) -> None:
    alarm = stack.named("aws:cloudwatch/metricAlarm:MetricAlarm", "gold-freshness").inputs
    assert (alarm["namespace"], alarm["metricName"]) == (NAMESPACE, GOLD_PUBLISHED)
    assert alarm["dimensions"] == {"Stack": stack.config.name("stack")}
    hours = stack.config.freshness_hours
    assert alarm["period"] * alarm["evaluationPeriods"] == hours * 3600 <= 7 * 24 * 3600
    assert alarm["datapointsToAlarm"] == alarm["evaluationPeriods"]
    assert (alarm["statistic"], alarm["comparisonOperator"], alarm["threshold"]) == (
        "Sum",
        "LessThanThreshold",
        1,
    )
    assert alarm["treatMissingData"] == "breaching"
    assert alarm["alarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"]
    # The topic is encrypted: CloudWatch may publish to it and use the key for that.
    policy = _statements(stack.named("aws:sns/topicPolicy:TopicPolicy", "alerts-policy").inputs["policy"])
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in policy)
    key_policy = _statements(stack.named("aws:kms/keyPolicy:KeyPolicy", "key-policy").inputs["policy"])
    alerts = next(s for s in key_policy if s["Sid"] == "AlertsArePublished")
    assert "cloudwatch.amazonaws.com" in alerts["Principal"]["Service"]


def test_a_monthly_budget_alerts_on_spend_and_forecast(stack: Stack) -> None:
    budget = stack.named("aws:budgets/budget:Budget", "monthly-budget").inputs
    assert (budget["budgetType"], budget["timeUnit"], budget["limitUnit"]) == ("COST", "MONTHLY", "USD")
    assert float(budget["limitAmount"]) == stack.config.monthly_budget_usd
    assert budget["costFilters"] == [
        {"name": "TagKeyValue", "values": [f"user:stack${stack.config.name('stack')}"]}
    ]
    kinds = {(n["notificationType"], n["threshold"]) for n in budget["notifications"]}
    assert kinds == {("ACTUAL", 80), ("FORECASTED", 100)}
    assert all(n["subscriberEmailAddresses"] == [stack.config.alert_email] for n in budget["notifications"])


def test_one_dashboard_shows_run_durations_and_rows_per_stage(stack: Stack) -> None:
    body = json.loads(stack.named("aws:cloudwatch/dashboard:Dashboard", "operations").inputs["dashboardBody"])
    shown = {
        (metric[1], metric[5] if len(metric) > 5 else None)
        for widget in body["widgets"]
        for metric in widget["properties"]["metrics"]
    }
    for job in WORKFLOW.names:
        assert {(JOB_SECONDS, job), (ROWS_IN, job), (ROWS_OUT, job)} <= shown
    assert (GOLD_PUBLISHED, None) in shown


def test_logs_are_kept_for_the_retention_and_alerts_go_by_email(stack: Stack) -> None:
    subscription = stack.named("aws:sns/topicSubscription:TopicSubscription", "alerts-email")
    assert (
        subscription.inputs["protocol"] == "email"
        and subscription.inputs["endpoint"] == stack.config.alert_email
    )
    groups = stack.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 2 * len(WORKFLOW.names) + (1 if stack.config.dashboard else 0)
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
    assert dev_start.inputs["type"] == "EVENT" and dev.of_type(EVENT_TARGET)
    assert prod_start.inputs["type"] == "SCHEDULED" and prod_start.inputs["schedule"] == prod.config.schedule
    assert not [r for r in prod.resources if r.name in ("export-landed", "exporter-role")]
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


def test_job_sizes_deployed_are_the_declared_ones_with_only_the_stack_files_overrides(
    dev: Stack, prod: Stack
) -> None:
    for stack in (dev, prod):
        overrides = stack_file(stack.config.stack)[1].get("jobs", {})
        deployed = {j.inputs["name"]: j.inputs for j in stack.of_type(JOB)}
        for spec in WORKFLOW.jobs:
            declared = {
                "workerType": spec.glue.worker_type,
                "workers": spec.glue.workers,
                "flex": spec.glue.flex,
                "timeoutMinutes": spec.glue.timeout_minutes,
                "retries": spec.glue.retries,
            }
            expected = declared | overrides.get(spec.name, {})
            job = deployed[stack.config.name(spec.name)]
            assert {
                "workerType": job["workerType"],
                "workers": job["numberOfWorkers"],
                "flex": job["executionClass"] == "FLEX",
                "timeoutMinutes": job["timeout"],
                "retries": job["maxRetries"],
            } == expected, (stack.config.stack, spec.name)
    assert "jobs" not in stack_file("prod")[1]


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ({"nightly": {"workers": 4}}, "bi:jobs names ['nightly'], which the workflow does not have"),
        ({"silver": {"workers": 1}}, "invalid stack config bi:jobs.silver.workers: Input should be greater"),
        (
            {"silver": {"wokers": 4}},
            "invalid stack config bi:jobs.silver.wokers: Extra inputs are not permitted",
        ),
    ],
)
def test_a_wrong_job_size_override_is_one_line(jobs: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError) as raised:
        load_stack_file("dev", {"jobs": jobs})
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_every_stack_starts_on_its_schedule_whether_or_not_exports_start_it_too(stack: Stack) -> None:
    (start,) = [t for t in stack.of_type(TRIGGER) if t.inputs["type"] != "CONDITIONAL"]
    if not stack.config.event_start.enabled:
        assert start.inputs["type"] == "SCHEDULED" and start.inputs["startOnCreation"]
        assert start.inputs["schedule"] == stack.config.schedule
        return
    # One start trigger per workflow: the schedule reaches it through EventBridge, as exports do.
    assert start.inputs["type"] == "EVENT"
    scheduled = stack.named(EVENT_RULE, "scheduled-start")
    assert scheduled.inputs["scheduleExpression"] == stack.config.schedule
    workflow = f"arn:aws:glue:{REGION}:{ACCOUNT}:workflow/{stack.config.name('daily')}"
    targets = {t.inputs["rule"]: t.inputs for t in stack.of_type(EVENT_TARGET) if t.inputs["arn"] == workflow}
    assert set(targets) == {stack.config.name("scheduled-start"), stack.config.name("export-landed")}
    events_role = f"arn:aws:iam::{ACCOUNT}:role/{stack.config.name('events-start')}"
    assert {t["roleArn"] for t in targets.values()} == {events_role}
    (policy,) = _statements(stack.named(ROLE_POLICY, "events-policy").inputs["policy"])
    assert policy["Action"] == ["glue:NotifyEvent"] and policy["Resource"] == [workflow]


def test_an_event_start_batches_a_burst_into_one_run_and_declares_its_sender(dev: Stack) -> None:
    stack = dev
    assert stack.config.event_start.enabled, "the dev stack file enables the event start"
    start = stack.named(TRIGGER, "start")
    (batching,) = start.inputs["eventBatchingConditions"]
    assert batching["batchWindow"] == stack.config.event_start.batch_window_seconds
    assert batching["batchSize"] > 1  # the window, not the first file, closes the batch
    drop = stack.config.event_start.drop_prefix
    pattern = json.loads(stack.named(EVENT_RULE, "export-landed").inputs["eventPattern"])
    assert pattern["detail"]["object"]["key"] == [{"prefix": drop}]
    exporter = stack.named(ROLE, "exporter-role")
    assumed = json.loads(exporter.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["AWS"]
    assert assumed == f"arn:aws:iam::{ACCOUNT}:root"
    statements = _statements(stack.named(ROLE_POLICY, "exporter-policy").inputs["policy"])
    bronze = f"arn:aws:s3:::{_bucket(stack, 'bronze')}"
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        (["s3:PutObject"], [f"{bronze}/{drop}*"]),
        (["kms:GenerateDataKey"], [KEY_ARN]),
    ]


def test_bucket_names_carry_the_account_so_two_accounts_never_collide(stack: Stack) -> None:
    names = {b.name: b.inputs["bucket"] for b in stack.of_type(BUCKET)}
    assert names == {name: f"{stack.config.name(name)}-{ACCOUNT}" for name in (*DATA_BUCKETS, "access-logs")}
    assert all(len(name) <= 63 for name in names.values())


def test_a_prefix_too_long_for_a_bucket_name_is_one_line(stack: Stack) -> None:
    long = stack.config.model_copy(update={"name_prefix": "a" * 31, "stack": "staging-eu"})
    with pytest.raises(
        UserError, match=r"bucket name a{31}-staging-eu-access-logs-\d{12} is 67 characters, S3 allows 63"
    ):
        long.bucket_name("access-logs", ACCOUNT)


def test_what_holds_data_is_protected_from_deletion_in_prod(dev: Stack, prod: Stack) -> None:
    # The databases hold each table's pointer to its current metadata: losing one loses the tables.
    holding_data = {"key", "sqlserver-url", "access-logs", *DATA_BUCKETS, "silver-database", "gold-database"}
    assert prod.config.protect_data and not dev.config.protect_data
    assert prod.protected == holding_data
    assert dev.protected == set()
    assert all(b.inputs["forceDestroy"] is False for b in prod.of_type(BUCKET))
