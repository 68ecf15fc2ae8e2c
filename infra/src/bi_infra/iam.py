"""One role per workflow job with exactly the statements `access.py` declares for it, and the
dashboard's read-only role."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from bi_infra.access import (
    Arns,
    Document,
    assume_by_principal,
    assume_role_policy,
    dashboard_policy,
    job_policy,
)
from bi_infra.config import StackConfig
from bi_lake.workflow import WORKFLOW


@dataclass(frozen=True)
class Roles:
    jobs: dict[str, aws.iam.Role]
    dashboard: aws.iam.Role


def create_roles(config: StackConfig, account: str, partition: str, opts: pulumi.ResourceOptions) -> Roles:
    jobs = {
        job.name: aws.iam.Role(
            f"{job.name}-role",
            name=config.name(f"{job.name}-job"),
            description=f"Glue job {job.name}: {job.description}",
            assume_role_policy=json.dumps(assume_role_policy("glue.amazonaws.com")),
            opts=opts,
        )
        for job in WORKFLOW.ordered()
    }
    principal = config.dashboard_principal_arn or f"arn:{partition}:iam::{account}:root"
    dashboard = aws.iam.Role(
        "dashboard-role",
        name=config.name("dashboard-reader"),
        description="The dashboard and bi query: read Gold, decrypt",
        assume_role_policy=json.dumps(
            assume_by_principal(principal, account if config.dashboard is not None else None)
        ),
        opts=opts,
    )
    return Roles(jobs=jobs, dashboard=dashboard)


def attach_policies(roles: Roles, arns: pulumi.Output[Arns], opts: pulumi.ResourceOptions) -> None:
    def document(build: Callable[[Arns], Document]) -> pulumi.Output[str]:
        return arns.apply(lambda resolved: json.dumps(build(resolved)))

    for name, role in roles.jobs.items():
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=document(lambda resolved, job=name: job_policy(job, resolved)),  # type: ignore[misc]
            opts=opts,
        )
    aws.iam.RolePolicy(
        "dashboard-policy", role=roles.dashboard.id, policy=document(dashboard_policy), opts=opts
    )
