"""The CI/CD bootstrap program under Pulumi's mocks, one test per policy: who may assume which role,
and what each may do."""

from __future__ import annotations

import json
from fnmatch import fnmatch
from typing import Any

import pulumi
import pytest
from ruamel.yaml import YAML

from bi_infra.bootstrap import GITHUB_ISSUER, POWER_USER, READ_ONLY, build, parse
from bi_lake.errors import UserError
from tests.infra.conftest import ACCOUNT, INFRA, REGION, RecordingMocks, Stack

ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
# The OIDC provider's ARN as the mocks give it.
PROVIDER = f"arn:aws:iam:{REGION}:{ACCOUNT}:github"


@pytest.fixture(scope="module")
def bootstrap() -> Stack:
    values = YAML(typ="safe").load((INFRA / "bootstrap" / "Pulumi.main.yaml").read_text())["config"]
    config = parse(
        {k.removeprefix("bi-bootstrap:"): v for k, v in values.items() if k.startswith("bi-bootstrap:")}
    )
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="business-insights-bootstrap", stack="main", preview=False)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # pulumi leaves its decorator unannotated
    def program() -> None:
        build(config)

    program()
    # Stack is typed for the application stack's config; the tests here read only the resources.
    return Stack(config, mocks.declared)  # type: ignore[arg-type]


def _trust(stack: Stack, name: str) -> dict[str, Any]:
    (statement,) = json.loads(stack.named(ROLE, name).inputs["assumeRolePolicy"])["Statement"]
    assert isinstance(statement, dict)
    return statement


def test_the_github_oidc_provider_issues_tokens_for_aws_only(bootstrap: Stack) -> None:
    provider = bootstrap.named("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github").inputs
    assert provider["url"] == f"https://{GITHUB_ISSUER}" and provider["clientIdLists"] == [
        "sts.amazonaws.com"
    ]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_a_deploy_role_is_assumable_only_by_its_environments_runs_of_this_repository(
    bootstrap: Stack, environment: str
) -> None:
    statement = _trust(bootstrap, f"deploy-{environment}")
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:github"} or statement[
        "Principal"
    ]["Federated"].endswith("github")
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]
    assert list(condition) == ["StringEquals"]  # exact subjects: no wildcard branch, fork or environment
    assert condition["StringEquals"] == {
        f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com",
        f"{GITHUB_ISSUER}:sub": [f"repo:acme/business-insights:environment:{environment}"],
    }


def test_a_deploy_role_manages_only_its_own_stacks_roles_besides_power_user(bootstrap: Stack) -> None:
    for environment in ("dev", "prod"):
        assert bootstrap.named(ROLE, f"deploy-{environment}").inputs["managedPolicyArns"] == [POWER_USER]
        (statement,) = json.loads(
            bootstrap.named(ROLE_POLICY, f"deploy-{environment}-roles").inputs["policy"]
        )["Statement"]
        assert statement["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/acme-bi-{environment}-*"]
        assert all(a.startswith("iam:") and "*" not in a for a in statement["Action"])
        assert "iam:PassRole" in statement["Action"] and "iam:CreateUser" not in statement["Action"]


def test_the_preview_role_reads_only_and_serves_the_preview_and_plan_environments(bootstrap: Stack) -> None:
    role = bootstrap.named(ROLE, "preview-role").inputs
    assert role["managedPolicyArns"] == [READ_ONLY]
    subjects = _trust(bootstrap, "preview-role")["Condition"]["StringEquals"][f"{GITHUB_ISSUER}:sub"]
    # The environments the workflows bind those jobs to (their tokens' subjects).
    workflows = {
        path.name: YAML(typ="safe", pure=True).load(path.read_text())
        for path in (INFRA.parent / ".github" / "workflows").glob("*.yml")
    }
    bound = {
        workflows["preview.yml"]["jobs"]["dev"]["environment"],
        workflows["deploy.yml"]["jobs"]["prod-plan"]["environment"],
    }
    assert sorted(subjects) == sorted(f"repo:acme/business-insights:environment:{env}" for env in bound)
    # Beyond reading: the state backend's lock and checkpoint only.
    statements = json.loads(bootstrap.named(ROLE_POLICY, "preview-state").inputs["policy"])["Statement"]
    assert {r for s in statements for r in s["Resource"]} == {
        "arn:aws:s3:::acme-bi-pulumi-state",
        "arn:aws:s3:::acme-bi-pulumi-state/*",
    }
    # And the dashboard's sign-in secret, which the load balancer's listener is computed with.
    secret = json.loads(bootstrap.named(ROLE_POLICY, "preview-sign-in-secret").inputs["policy"])["Statement"]
    assert [(s["Action"], s["Resource"]) for s in secret] == [
        (
            ["secretsmanager:GetSecretValue"],
            [f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:acme-bi-*-dashboard-oidc-??????"],
        )
    ]


def test_a_wrong_bootstrap_setting_is_one_line() -> None:
    with pytest.raises(
        UserError, match=r"^invalid bootstrap config bi-bootstrap:repository: String should match"
    ):
        parse(
            {"repository": "no-owner", "namePrefix": "acme-bi", "environments": ["dev"], "stateBucket": "s"}
        )


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_a_deploy_role_can_pass_the_dashboards_roles_and_push_its_image(
    bootstrap: Stack, environment: str
) -> None:
    """The dashboard's task and execution roles are the stack's own; the image push is PowerUserAccess's
    (every ECR action), so CI pushes with the role it deploys with."""
    (statement,) = json.loads(bootstrap.named(ROLE_POLICY, f"deploy-{environment}-roles").inputs["policy"])[
        "Statement"
    ]
    for role in ("dashboard-reader", "dashboard-execution"):
        arn = f"arn:aws:iam::{ACCOUNT}:role/acme-bi-{environment}-{role}"
        assert any(fnmatch(arn, pattern) for pattern in statement["Resource"])
    assert "iam:PassRole" in statement["Action"]
    assert bootstrap.named(ROLE, f"deploy-{environment}").inputs["managedPolicyArns"] == [POWER_USER]
