"""Who may do what, declared once as data and turned into policy documents.

Each workflow job reads some layers and writes others; every one of them keeps the run bookkeeping
(run reports, workflow run ids and the lock at the lake root), reads its code from the artifacts
bucket, uses the project key and writes its own logs. The documents here are plain dictionaries
built from resolved ARNs, so the unit tests read exactly what the deployment applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bi_infra.config import CATALOG_LAYERS, CatalogLayer, database_name
from bi_lake import run_metrics
from bi_lake.layout import LOCK_KEY, RUNS_PREFIX, WORKFLOW_RUNS_PREFIX
from bi_lake.tables import SILVER_PUBLISHED_LAST
from bi_lake.workflow import WORKFLOW

Document = dict[str, Any]

# Where each layer lives in its bucket (Bronze shares its bucket with the lake root: run reports
# under `_runs/`, the run id of each Glue workflow run under `_workflow_runs/`, the lock `_lock.json`).
LAYER_PREFIX = {"bronze": "bronze/", "silver": "", "gold": ""}
ROOT_BUCKET = "bronze"
METRIC_NAMESPACES = ("Glue", run_metrics.NAMESPACE)
ROOT_OBJECTS = (f"{RUNS_PREFIX}/*", f"{WORKFLOW_RUNS_PREFIX}/*", LOCK_KEY)
# What the dashboard's Data health page reads besides Gold: small bookkeeping objects only.
# Silver's part is the record of its last run, carried by the metadata of the table it commits last.
HEALTH_OBJECTS = {
    "bronze": ("_runs/*", "bronze/_manifests/*", "bronze/_state/*"),
    "silver": (f"{SILVER_PUBLISHED_LAST}/metadata/*",),
}
# The Glue Data Catalog calls pyiceberg's Glue catalog makes (pyiceberg/catalog/glue.py): loading a table
# (and `table_exists`) GetTable, `namespace_exists` GetDatabase, `list_tables` GetTables; creating a table
# CreateTable; a commit UpdateTable, with the version it read as the condition; dropping one DeleteTable.
# The stack creates the databases: no job creates, changes or deletes one.
CATALOG_READ_ACTIONS = ("glue:GetDatabase", "glue:GetTable", "glue:GetTables")
CATALOG_WRITE_ACTIONS = ("glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable")


@dataclass(frozen=True)
class JobAccess:
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    reads_secret: bool = False
    uses_network: bool = False


# From the workflow declaration: a job that reads the source reads its URL from the secret and
# reaches SQL Server through the VPC.
ACCESS: dict[str, JobAccess] = {
    job.name: JobAccess(job.reads, job.writes, reads_secret=job.reads_source, uses_network=job.reads_source)
    for job in WORKFLOW.jobs
}


@dataclass(frozen=True)
class Arns:
    account: str
    region: str
    partition: str
    key: str
    buckets: dict[str, str]  # bronze, silver, gold, artifacts -> bucket ARN
    secret: str
    subnet: str
    security_group: str
    # The stack's catalog_namespace_prefix (StackConfig.catalog_namespace_prefix); the settings' default
    # names a lake's databases `silver` and `gold`.
    catalog_namespace_prefix: str = ""


def _objects(arns: Arns, layer: str, *patterns: str) -> list[str]:
    return [f"{arns.buckets[layer]}/{pattern}" for pattern in patterns]


def _layer_objects(arns: Arns, layer: str) -> list[str]:
    return _objects(arns, layer, f"{LAYER_PREFIX[layer]}*")


def glue_catalog(arns: Arns) -> str:
    return f"arn:{arns.partition}:glue:{arns.region}:{arns.account}:catalog"


def catalog_resources(arns: Arns, layer: CatalogLayer) -> list[str]:
    """A layer's Glue database and its tables, with the account's catalog every Glue call is also
    authorised on: nothing of another layer's database."""
    database = database_name(arns.catalog_namespace_prefix, layer)
    glue = f"arn:{arns.partition}:glue:{arns.region}:{arns.account}"
    return [glue_catalog(arns), f"{glue}:database/{database}", f"{glue}:table/{database}/*"]


def silver_record_resources(arns: Arns) -> list[str]:
    """The catalog entry of the Silver table whose commits carry Silver's run records."""
    database = database_name(arns.catalog_namespace_prefix, "silver")
    glue = f"arn:{arns.partition}:glue:{arns.region}:{arns.account}"
    return [
        glue_catalog(arns),
        f"{glue}:database/{database}",
        f"{glue}:table/{database}/{SILVER_PUBLISHED_LAST}",
    ]


def _catalogued(layers: tuple[str, ...]) -> list[CatalogLayer]:
    return [layer for layer in CATALOG_LAYERS if layer in layers]


def glue_log_groups(arns: Arns) -> str:
    return f"arn:{arns.partition}:logs:{arns.region}:{arns.account}:log-group:/aws-glue/*"


def job_policy(job: str, arns: Arns) -> Document:
    """Exactly what one job needs, nothing with a `*` action, `*` only where AWS has no narrower resource."""
    access = ACCESS[job]
    touched = sorted({*access.reads, *access.writes, ROOT_BUCKET})
    statements: list[Document] = [
        {
            "Sid": "ListItsLayers",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [arns.buckets[layer] for layer in touched],
        },
        {
            "Sid": "RunBookkeeping",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": _objects(arns, ROOT_BUCKET, *ROOT_OBJECTS),
        },
        {
            "Sid": "ReadItsCode",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": _objects(arns, "artifacts", "scripts/*", "wheels/*"),
        },
        {
            "Sid": "UseTheProjectKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": [arns.key],
        },
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:AssociateKmsKey",
            ],
            "Resource": [glue_log_groups(arns)],
        },
    ]
    statements.append(
        {
            # PutMetricData has no resource to scope to: the namespace condition narrows it to Glue's
            # and the jobs' own.
            "Sid": "PublishJobMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {"StringEquals": {"cloudwatch:namespace": list(METRIC_NAMESPACES)}},
        }
    )
    if access.reads:
        statements.append(
            {
                "Sid": "ReadUpstream",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [r for layer in access.reads for r in _layer_objects(arns, layer)],
            }
        )
    if read_tables := _catalogued(access.reads):
        statements.append(
            {
                "Sid": "ReadUpstreamTables",
                "Effect": "Allow",
                "Action": list(CATALOG_READ_ACTIONS),
                "Resource": [r for layer in read_tables for r in catalog_resources(arns, layer)],
            }
        )
    statements.append(
        {
            "Sid": "WriteItsLayer",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": [r for layer in access.writes for r in _layer_objects(arns, layer)],
        }
    )
    if written_tables := _catalogued(access.writes):
        statements.append(
            {
                # Load, create, commit and drop its Iceberg tables, in its own layer's database only.
                "Sid": "CommitItsTables",
                "Effect": "Allow",
                "Action": [*CATALOG_READ_ACTIONS, *CATALOG_WRITE_ACTIONS],
                "Resource": [r for layer in written_tables for r in catalog_resources(arns, layer)],
            }
        )
    if access.reads_secret:
        statements.append(
            {
                "Sid": "ReadTheSourceSecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [arns.secret],
            }
        )
    if access.uses_network:
        ec2 = f"arn:{arns.partition}:ec2:{arns.region}:{arns.account}"
        statements += [
            # Describe calls cannot be scoped to resources in IAM: `*` is the narrowest there is.
            {
                "Sid": "FindTheNetwork",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeVpcAttribute",
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeRouteTables",
                ],
                "Resource": ["*"],
            },
            {
                "Sid": "ReadItsConnection",
                "Effect": "Allow",
                "Action": ["glue:GetConnection"],
                "Resource": [
                    f"arn:{arns.partition}:glue:{arns.region}:{arns.account}:catalog",
                    f"arn:{arns.partition}:glue:{arns.region}:{arns.account}:connection/*",
                ],
            },
            {
                "Sid": "PlaceItsNetworkInterface",
                "Effect": "Allow",
                "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:CreateTags"],
                "Resource": [f"{ec2}:network-interface/*", arns.subnet, arns.security_group],
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def dashboard_policy(arns: Arns) -> Document:
    """Read Gold, its tables' catalog entries included (and the small bookkeeping objects the Data health
    page shows); decrypt; nothing else."""
    health = [r for layer, patterns in HEALTH_OBJECTS.items() for r in _objects(arns, layer, *patterns)]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListGold",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [arns.buckets["gold"]],
            },
            *(
                {
                    "Sid": f"ListHealth{layer.capitalize()}",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": [arns.buckets[layer]],
                    "Condition": {"StringLike": {"s3:prefix": [p.removesuffix("*") + "*" for p in patterns]}},
                }
                for layer, patterns in HEALTH_OBJECTS.items()
            ),
            {
                "Sid": "ReadGold",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _layer_objects(arns, "gold"),
            },
            {
                # Where each Gold table's current metadata is: the dashboard, bi query and Athena find
                # it in the catalog (the metadata and data files are Gold's objects, read above).
                "Sid": "ReadGoldTables",
                "Effect": "Allow",
                "Action": list(CATALOG_READ_ACTIONS),
                "Resource": catalog_resources(arns, "gold"),
            },
            {"Sid": "ReadHealth", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": health},
            {
                # Where that table's current metadata is, and nothing else of Silver's catalog.
                "Sid": "ReadSilverRecord",
                "Effect": "Allow",
                "Action": ["glue:GetTable"],
                "Resource": silver_record_resources(arns),
            },
            {
                "Sid": "Decrypt",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": [arns.key],
            },
        ],
    }


def log_group_arn(arns: Arns, name: str) -> str:
    return f"arn:{arns.partition}:logs:{arns.region}:{arns.account}:log-group:{name}"


def dashboard_execution_policy(arns: Arns, repository: str, log_group: str) -> Document:
    """What ECS needs to start a dashboard task: pull its image from the stack's repository and write its
    logs to its group; nothing the application itself does (that is the reader role's)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # The registry's login token is per account: IAM has no narrower resource for it.
                "Sid": "SignInToTheRegistry",
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": ["*"],
            },
            {
                "Sid": "PullTheImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": [
                    f"arn:{arns.partition}:ecr:{arns.region}:{arns.account}:repository/{repository}"
                ],
            },
            {
                "Sid": "WriteItsLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                # CreateLogStream is authorised on the group, PutLogEvents on its streams: `:*` is both.
                "Resource": [f"{log_group_arn(arns, log_group)}:*"],
            },
        ],
    }


def key_policy(
    arns: Arns, job_roles: list[str], dashboard_role: str, dashboard_log_group: str | None = None
) -> Document:
    """The project key: administered by the account, used by the pipeline roles, read by the dashboard;
    CloudWatch Logs encrypts the jobs' logs with it, and the dashboard's when the stack serves it."""
    root = f"arn:{arns.partition}:iam::{arns.account}:root"
    policy: Document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": [
                    "kms:Create*",
                    "kms:Describe*",
                    "kms:Enable*",
                    "kms:List*",
                    "kms:Put*",
                    "kms:Update*",
                    "kms:Revoke*",
                    "kms:Disable*",
                    "kms:Get*",
                    "kms:Delete*",
                    "kms:TagResource",
                    "kms:UntagResource",
                    "kms:ScheduleKeyDeletion",
                    "kms:CancelKeyDeletion",
                ],
                "Resource": "*",
            },
            {
                "Sid": "PipelineRolesUseTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(job_roles)},
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": "*",
            },
            {
                "Sid": "DashboardDecrypts",
                "Effect": "Allow",
                "Principal": {"AWS": [dashboard_role]},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            },
            {
                # Principals of the account (the deployer uploading the job code, an operator setting
                # the secret, Athena readers) may use the key only through S3 and Secrets Manager, and
                # only when their own IAM policy grants it.
                "Sid": "AccountUsesTheKeyThroughItsServices",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": arns.account,
                        "kms:ViaService": [
                            f"s3.{arns.region}.amazonaws.com",
                            f"secretsmanager.{arns.region}.amazonaws.com",
                        ],
                    }
                },
            },
            {
                # EventBridge (failed jobs) and CloudWatch alarms (stale Gold) publishing alerts to the
                # encrypted topic.
                "Sid": "AlertsArePublished",
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": arns.account}},
            },
            {
                "Sid": "GlueLogsAreEncrypted",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{arns.region}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": glue_log_groups(arns)}},
            },
        ],
    }
    if dashboard_log_group is not None:
        glue_logs = policy["Statement"][-1]
        policy["Statement"].append(
            {
                **glue_logs,
                "Sid": "DashboardLogsAreEncrypted",
                "Condition": {
                    "ArnEquals": {
                        "kms:EncryptionContext:aws:logs:arn": log_group_arn(arns, dashboard_log_group)
                    }
                },
            }
        )
    return policy


def deny_insecure_transport(bucket_arn: str) -> Document:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(bucket_arn: str, key_arn: str) -> Document:
    """TLS only, and every object written with SSE-KMS under the project key."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            deny_insecure_transport(bucket_arn),
            {
                # Headers naming another encryption are refused; a request naming none (an upload's
                # parts, or a client relying on the default) gets the bucket default, the project key.
                "Sid": "DenyOtherEncryption",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            },
            {
                "Sid": "DenyOtherKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {
                    "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}
                },
            },
            {
                # SSE-KMS without a key id would use the AWS-managed key, not the project's.
                "Sid": "DenyKmsWithoutTheKey",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {
                    "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                    "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
                },
            },
        ],
    }


def log_bucket_policy(bucket_arn: str, account: str, source_buckets: list[str]) -> Document:
    """The access-log bucket: TLS only, and S3's log delivery may write logs of this stack's buckets."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            deny_insecure_transport(bucket_arn),
            {
                "Sid": "S3LogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": sorted(source_buckets)},
                },
            },
        ],
    }


def assume_role_policy(service: str) -> Document:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def assume_by_principal(principal_arn: str, ecs_tasks_of_account: str | None = None) -> Document:
    """Assumable by the principal; and by ECS tasks of the account when it is given (the dashboard's
    containers run with the same read-only access)."""
    statements: list[Document] = [
        {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}
    ]
    if ecs_tasks_of_account is not None:
        statements.append(ecs_tasks_trust(ecs_tasks_of_account))
    return {"Version": "2012-10-17", "Statement": statements}


def ecs_tasks_trust(account: str) -> Document:
    """ECS tasks of this account only (the service checks the task's account as the source)."""
    return {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
    }
