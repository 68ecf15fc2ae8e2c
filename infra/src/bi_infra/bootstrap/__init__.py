"""What CI/CD deploys with, declared once per AWS account: GitHub's OIDC provider, a read-only preview
role for pull requests and for the plan shown to prod's approver, and one deploy role per environment,
each trusted only by this repository's workflow runs for that purpose. A small Pulumi program of its
own (`infra/bootstrap/`), run once by an administrator; the stacks it deploys with never change it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from bi_infra.config import SIGN_IN_SECRET
from bi_lake.errors import UserError

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
ROLE_ACTIONS = [
    "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
    "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags", "iam:PutRolePolicy", "iam:GetRolePolicy",
    "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole", "iam:PassRole",
]  # fmt: skip


class BootstrapConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    name_prefix: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    environments: list[str] = Field(min_length=1)
    # The Pulumi state backend's bucket: previews and deployments take its lock and write its state.
    state_bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    # The GitHub environments whose jobs preview with the read-only role: pull requests' dev preview
    # and the prod plan shown to prod's approver. (A job bound to an environment presents it as its
    # token's subject, not its branch or event.)
    preview_environments: list[str] = Field(default=["dev-preview", "prod-plan"], min_length=1)


def parse(values: dict[str, Any]) -> BootstrapConfig:
    try:
        return BootstrapConfig.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "config"
        raise UserError(f"invalid bootstrap config bi-bootstrap:{where}: {error['msg']}") from None


def trust(provider_arn: str, subjects: list[str]) -> dict[str, Any]:
    """Assumable only with a GitHub OIDC token for AWS whose subject is one of `subjects`."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_ISSUER}:aud": AUDIENCE, f"{GITHUB_ISSUER}:sub": subjects},
                },
            }
        ],
    }


def state_access(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PulumiState",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            },
            {
                "Sid": "PulumiStateList",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
        ],
    }


def sign_in_secret_access(account: str, prefix: str) -> dict[str, Any]:
    """The one secret a preview must read: the load balancer's listener is computed with the dashboard's
    OIDC client secret (ReadOnlyAccess reads no secret value). Secrets Manager adds six characters to
    a secret's name in its ARN."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DashboardSignInSecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [f"arn:aws:secretsmanager:*:{account}:secret:{prefix}-*-{SIGN_IN_SECRET}-??????"],
            }
        ],
    }


def project_roles(account: str, prefix: str, environment: str) -> dict[str, Any]:
    """What PowerUserAccess leaves out and a stack needs: its own roles (the jobs', the dashboard
    reader's and its tasks' execution role, EventBridge's, the exporter's), named
    `<prefix>-<environment>-*`, and nothing else of IAM. (PowerUserAccess already covers the rest of the
    dashboard: ECR, including pushing CI's image to `<prefix>-<environment>-dashboard`, ECS, the load
    balancer, Cognito, Application Auto Scaling, the NAT, and reading the OIDC client secret; and
    creating the services' linked roles.)"""
    roles = f"arn:aws:iam::{account}:role/{prefix}-{environment}-*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TheStacksOwnRoles",
                "Effect": "Allow",
                "Action": ROLE_ACTIONS,
                "Resource": [roles],
            }
        ],
    }


def _environment_trust(repo: str, environment: str) -> Callable[[str], str]:
    return lambda arn: json.dumps(trust(arn, [f"{repo}:environment:{environment}"]))


def build(config: BootstrapConfig) -> None:
    account = aws.get_caller_identity().account_id
    provider = aws.iam.OpenIdConnectProvider(
        "github", url=f"https://{GITHUB_ISSUER}", client_id_lists=[AUDIENCE]
    )
    repo = f"repo:{config.repository}"
    preview = aws.iam.Role(
        "preview-role",
        name=f"{config.name_prefix}-ci-preview",
        description="Pull requests' dev preview and prod's plan: pulumi preview, read-only",
        assume_role_policy=provider.arn.apply(
            lambda arn: json.dumps(
                trust(arn, [f"{repo}:environment:{env}" for env in config.preview_environments])
            )
        ),
        managed_policy_arns=[READ_ONLY],
    )
    aws.iam.RolePolicy("preview-state", role=preview.id, policy=json.dumps(state_access(config.state_bucket)))
    aws.iam.RolePolicy(
        "preview-sign-in-secret",
        role=preview.id,
        policy=json.dumps(sign_in_secret_access(account, config.name_prefix)),
    )
    pulumi.export("preview_role_arn", preview.arn)
    deployers = {}
    for environment in config.environments:
        role = aws.iam.Role(
            f"deploy-{environment}",
            name=f"{config.name_prefix}-ci-deploy-{environment}",
            description=f"Deploys the {environment} stack from the {environment} environment's workflow runs",
            assume_role_policy=provider.arn.apply(_environment_trust(repo, environment)),
            managed_policy_arns=[POWER_USER],
        )
        aws.iam.RolePolicy(
            f"deploy-{environment}-roles",
            role=role.id,
            policy=json.dumps(project_roles(account, config.name_prefix, environment)),
        )
        aws.iam.RolePolicy(
            f"deploy-{environment}-state", role=role.id, policy=json.dumps(state_access(config.state_bucket))
        )
        deployers[environment] = role.arn
    pulumi.export("deploy_role_arns", deployers)
