"""The dashboard's deployment under Pulumi's mocks, one test per policy: dev's stack file as it is (the
stack's Cognito pool, no image yet), deployed with an image tag, signing in with an OIDC provider
instead, and prod (no dashboard)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bi_infra import access
from bi_infra.config import load_stack_file, stack_file
from bi_infra.dashboard import CONTAINER_NAME, UNDEPLOYED_TAG, cognito_domain_prefix
from bi_infra.dashboard_task import CONTAINER_PORT, HEALTH_PATH, task_environment
from bi_lake.errors import UserError
from tests.infra.conftest import (
    ACCOUNT,
    EXISTING_GROUP,
    EXISTING_SUBNET,
    OIDC_CLIENT_SECRET,
    REGION,
    ExistingVpc,
    Stack,
    declare,
)

LISTENER, LISTENER_RULE = "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule"
LOAD_BALANCER, TARGET_GROUP = "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"
SERVICE, TASK = "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition"
REPOSITORY, LIFECYCLE = "aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy"
USER_POOL, POOL_CLIENT = "aws:cognito/userPool:UserPool", "aws:cognito/userPoolClient:UserPoolClient"
SCHEDULED = "aws:appautoscaling/scheduledAction:ScheduledAction"
TARGET = "aws:appautoscaling/target:Target"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
INGRESS, EGRESS = (
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/key-1234"
LOAD_BALANCER_ARN = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/acme-bi-dev-dashboard/1"
)
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:acme-bi-dev-dashboard-oidc-AbCdEf"
OIDC = {
    "issuer": "https://login.example.com",
    "authorizationEndpoint": "https://login.example.com/oauth2/authorize",
    "tokenEndpoint": "https://login.example.com/oauth2/token",
    "userInfoEndpoint": "https://login.example.com/oauth2/userinfo",
    "clientId": "dashboard",
    "clientSecretArn": SECRET_ARN,
}
IMAGE_TAG = "0123abcd"
EXISTING = {
    "mode": "existing",
    "subnetId": EXISTING_SUBNET,
    "securityGroupId": EXISTING_GROUP,
    "availabilityZone": "eu-west-1a",
}
EXISTING_PLACEMENT = {
    "vpcId": "vpc-0aaaaaaaaaaaaaaa1",
    "loadBalancerSubnetIds": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
    "taskSubnetIds": ["subnet-0ccccccccccccccc1"],
}


def dev_dashboard(**changes: Any) -> dict[str, Any]:
    """dev's `bi:dashboard` as its stack file has it, changed where a test says."""
    return {**stack_file("dev")[1]["dashboard"], **changes}


@pytest.fixture(scope="module")
def deployed(wheels: Path) -> Stack:
    """dev once CI has deployed an image."""
    return declare("dev", wheels, {"dashboard": dev_dashboard(imageTag=IMAGE_TAG)})


@pytest.fixture(scope="module")
def oidc(wheels: Path) -> Stack:
    return declare(
        "dev",
        wheels,
        {"dashboard": dev_dashboard(imageTag=IMAGE_TAG, signIn={"oidc": OIDC}, scaleToZero=None)},
    )


@pytest.fixture(params=["dev", "deployed", "oidc"])
def served(request: pytest.FixtureRequest, wheels: Path) -> Stack:
    """Every variant of a stack that serves the dashboard (`wheels` named so the markers see it)."""
    found: Stack = request.getfixturevalue(request.param)
    return found


def _statements(document: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(document)["Statement"]
    return statements


# How the mocks see an input holding a secret (here the OIDC client secret): wrapped, whole.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def _revealed(value: Any) -> Any:
    return value["value"] if isinstance(value, dict) and SECRET_SIGNATURE in value else value


def _actions(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = _revealed(inputs.get("defaultActions") or inputs["actions"])
    return actions


def _listener(stack: Stack, port: int) -> dict[str, Any]:
    (listener,) = [r.inputs for r in stack.of_type(LISTENER) if r.inputs["port"] == port]
    return {**listener, "defaultActions": _actions(listener)}


def _arns(stack: Stack) -> access.Arns:
    buckets = {what: f"arn:aws:s3:::{stack.config.bucket_name(what, ACCOUNT)}"
               for what in ("bronze", "silver", "gold", "artifacts")}  # fmt: skip
    return access.Arns(ACCOUNT, REGION, "aws", KEY_ARN, buckets, secret="", subnet="", security_group="",
                       catalog_namespace_prefix=stack.config.catalog_namespace_prefix)  # fmt: skip


def _container(stack: Stack) -> dict[str, Any]:
    (container,) = json.loads(stack.named(TASK, "dashboard-task").inputs["containerDefinitions"])
    assert isinstance(container, dict)
    return container


def test_no_listener_forwards_a_request_that_was_not_signed_in_first(served: Stack) -> None:
    listeners = [_actions(r.inputs) for r in served.of_type(LISTENER) + served.of_type(LISTENER_RULE)]
    assert len(listeners) == 2
    for actions in listeners:
        if [a["type"] for a in actions] == ["redirect"]:
            continue
        ordered = sorted(actions, key=lambda a: a["order"])
        assert ordered[0]["type"] in {"authenticate-oidc", "authenticate-cognito"}, ordered
        signed_in = ordered[0]["order"]
        assert all(a["order"] > signed_in for a in ordered if a["type"] == "forward")
        assert [a["type"] for a in ordered][-1] == "forward"
        sign_in = ordered[0].get("authenticateOidc") or ordered[0]["authenticateCognito"]
        assert sign_in["onUnauthenticatedRequest"] == "authenticate"


def test_http_only_redirects_to_https_with_a_current_tls_policy(served: Stack) -> None:
    (redirect,) = _listener(served, 80)["defaultActions"]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
    https = _listener(served, 443)
    assert https["protocol"] == "HTTPS" and https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert served.config.dashboard is not None
    assert https["certificateArn"] == served.config.dashboard.certificate_arn


def test_the_tasks_have_no_public_address_and_take_traffic_only_from_the_load_balancer(served: Stack) -> None:
    network = served.named(SERVICE, "dashboard-service").inputs["networkConfiguration"]
    assert network["assignPublicIp"] is False
    assert network["subnets"] == ["private-0-id", "private-1-id"]
    assert network["securityGroups"] == ["dashboard-tasks-sg-id"]
    (ingress,) = [
        r.inputs for r in served.of_type(INGRESS) if r.inputs["securityGroupId"] == "dashboard-tasks-sg-id"
    ]
    assert ingress["referencedSecurityGroupId"] == "dashboard-load-balancer-sg-id"
    assert (ingress["ipProtocol"], ingress["fromPort"], ingress["toPort"]) == (
        "tcp",
        CONTAINER_PORT,
        CONTAINER_PORT,
    )
    balancer = served.named(LOAD_BALANCER, "dashboard-load-balancer").inputs
    assert balancer["internal"] is False and balancer["subnets"] == ["public-0-id", "public-1-id"]
    assert balancer["securityGroups"] == ["dashboard-load-balancer-sg-id"]
    from_users = {(r.inputs["cidrIpv4"], r.inputs["fromPort"]) for r in served.of_type(INGRESS)
                  if r.inputs["securityGroupId"] == "dashboard-load-balancer-sg-id"}  # fmt: skip
    assert served.config.dashboard is not None
    assert from_users == {
        (cidr, port) for cidr in served.config.dashboard.allowed_cidrs for port in (80, 443)
    }
    to_tasks = [r.inputs for r in served.of_type(EGRESS)
                if r.inputs["securityGroupId"] == "dashboard-load-balancer-sg-id"
                and r.inputs.get("referencedSecurityGroupId") == "dashboard-tasks-sg-id"]  # fmt: skip
    assert [(r["fromPort"], r["toPort"]) for r in to_tasks] == [(CONTAINER_PORT, CONTAINER_PORT)]


def test_the_tasks_run_as_the_dashboard_reader_and_start_with_a_pull_and_log_only_role(served: Stack) -> None:
    task = served.named(TASK, "dashboard-task").inputs
    reader = f"arn:aws:iam::{ACCOUNT}:role/{served.config.name('dashboard-reader')}"
    assert task["taskRoleArn"] == reader
    assert (
        _statements(served.named(ROLE_POLICY, "dashboard-policy").inputs["policy"])
        == (access.dashboard_policy(_arns(served))["Statement"])
    )
    trust = _statements(served.named(ROLE, "dashboard-role").inputs["assumeRolePolicy"])
    assert {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
    } in trust
    ecs = [s for s in trust if s["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}]
    assert ecs == [access.ecs_tasks_trust(ACCOUNT)]
    assert ecs[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    execution = served.named(ROLE, "dashboard-execution-role").inputs
    assert task["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{execution['name']}"
    assert _statements(execution["assumeRolePolicy"]) == [access.ecs_tasks_trust(ACCOUNT)]
    pulls = _statements(served.named(ROLE_POLICY, "dashboard-execution-policy").inputs["policy"])
    log_group = f"/ecs/{served.config.name('dashboard')}"
    assert (
        pulls
        == access.dashboard_execution_policy(_arns(served), served.config.name("dashboard"), log_group)[
            "Statement"
        ]
    )
    assert {a for s in pulls for a in s["Action"]} == {
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer", "logs:CreateLogStream", "logs:PutLogEvents",
    }  # fmt: skip
    assert [s["Resource"] for s in pulls if s["Resource"] == ["*"]] == [["*"]], "only the registry's token"


def test_the_job_stacks_without_a_dashboard_trust_no_ecs_task_with_the_reader(prod: Stack) -> None:
    trust = _statements(prod.named(ROLE, "dashboard-role").inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust] == [{"AWS": f"arn:aws:iam::{ACCOUNT}:root"}]


def test_image_tags_are_immutable_scanned_on_push_and_the_last_n_kept(served: Stack) -> None:
    repository = served.named(REPOSITORY, "dashboard-repository").inputs
    assert repository["name"] == served.config.name("dashboard")
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    (rule,) = json.loads(served.named(LIFECYCLE, "dashboard-repository-lifecycle").inputs["policy"])["rules"]
    assert served.config.dashboard is not None
    assert rule["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": served.config.dashboard.keep_images,
    }
    assert rule["action"] == {"type": "expire"}


def test_the_logs_are_encrypted_with_the_stack_key_which_lets_logs_use_it_for_that_group_only(
    served: Stack,
) -> None:
    logs = served.named("aws:cloudwatch/logGroup:LogGroup", "dashboard-logs").inputs
    assert logs["kmsKeyId"] == KEY_ARN and logs["retentionInDays"] == served.config.log_retention_days
    options = _container(served)["logConfiguration"]
    assert options["logDriver"] == "awslogs" and options["options"]["awslogs-group"] == logs["name"]
    key_policy = _statements(served.named("aws:kms/keyPolicy:KeyPolicy", "key-policy").inputs["policy"])
    (statement,) = [s for s in key_policy if s["Sid"] == "DashboardLogsAreEncrypted"]
    assert statement["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{logs['name']}"
        }
    }


def test_websocket_sessions_outlive_the_idle_timeout_and_stick_to_their_task(served: Stack) -> None:
    balancer = served.named(LOAD_BALANCER, "dashboard-load-balancer").inputs
    assert balancer["idleTimeout"] >= 300
    assert balancer["dropInvalidHeaderFields"] is True
    targets = served.named(TARGET_GROUP, "dashboard-targets").inputs
    assert targets["stickiness"]["type"] == "lb_cookie" and targets["stickiness"]["enabled"] is True
    assert (targets["targetType"], targets["protocol"], targets["port"]) == ("ip", "HTTP", CONTAINER_PORT)
    assert targets["healthCheck"]["path"] == HEALTH_PATH


def test_an_oidc_provider_signs_users_in_with_its_secret_from_secrets_manager(oidc: Stack) -> None:
    (sign_in,) = [a for a in _listener(oidc, 443)["defaultActions"] if a["type"] == "authenticate-oidc"]
    settings = sign_in["authenticateOidc"]
    assert settings["clientSecret"] == OIDC_CLIENT_SECRET
    https = next(r.inputs for r in oidc.of_type(LISTENER) if r.inputs["port"] == 443)
    assert SECRET_SIGNATURE in https["defaultActions"], "the client secret stays a secret in the state"
    assert {k: settings[k] for k in ("issuer", "authorizationEndpoint", "tokenEndpoint", "userInfoEndpoint",
                                      "clientId")} == {k: v for k, v in OIDC.items() if k != "clientSecretArn"}  # fmt: skip
    assert not oidc.of_type(USER_POOL) and not oidc.of_type(POOL_CLIENT)
    environment = {e["name"]: e["value"] for e in _container(oidc)["environment"]}
    assert environment["BI_DASHBOARD_GROUPS_CLAIM"] == "groups"


def test_the_stacks_user_pool_admits_only_invited_users_whose_groups_only_administrators_set(
    dev: Stack,
) -> None:
    pool = dev.named(USER_POOL, "dashboard-users").inputs
    assert pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
    assert pool["mfaConfiguration"] in {"OPTIONAL", "ON"} and pool["softwareTokenMfaConfiguration"]["enabled"]
    assert pool["passwordPolicy"]["minimumLength"] >= 12
    (groups,) = pool["schemas"]
    assert (groups["name"], groups["attributeDataType"]) == ("groups", "String")
    client = dev.named(POOL_CLIENT, "dashboard-client").inputs
    assert "custom:groups" in client["readAttributes"] and "custom:groups" not in client["writeAttributes"]
    assert client["writeAttributes"], "an empty list would let users write every attribute"
    assert client["generateSecret"] is True and client["allowedOauthFlows"] == ["code"]
    assert set(client["allowedOauthScopes"]) == {"openid", "email", "profile"}
    assert client["supportedIdentityProviders"] == ["COGNITO"]
    assert dev.config.dashboard is not None and dev.config.dashboard.domain_name
    assert client["callbackUrls"] == [f"https://{dev.config.dashboard.domain_name}/oauth2/idpresponse"]
    domain = dev.named("aws:cognito/userPoolDomain:UserPoolDomain", "dashboard-sign-in").inputs["domain"]
    assert domain == cognito_domain_prefix(dev.config, ACCOUNT) and ACCOUNT in domain and len(domain) <= 63
    (sign_in,) = [a for a in _listener(dev, 443)["defaultActions"] if a["type"] == "authenticate-cognito"]
    assert sign_in["authenticateCognito"]["userPoolClientId"] == "dashboard-client-id"
    environment = {e["name"]: e["value"] for e in _container(dev)["environment"]}
    assert environment["BI_DASHBOARD_GROUPS_CLAIM"] == "custom:groups"


def test_a_stack_without_a_dashboard_has_no_service_load_balancer_repository_or_nat(prod: Stack) -> None:
    assert prod.config.dashboard is None
    absent = [r.name for r in prod.resources if r.type.split(":")[1].split("/")[0] in
              {"ecs", "lb", "ecr", "cognito", "appautoscaling"}]  # fmt: skip
    assert absent == []
    assert not prod.of_type("aws:ec2/natGateway:NatGateway")
    assert not [
        r for r in prod.resources if "dashboard" in r.name and r.type != ROLE and r.type != ROLE_POLICY
    ]


def test_the_task_environment_is_task_environment_for_the_stacks_values(served: Stack) -> None:
    container = _container(served)
    bucket = {what: served.config.bucket_name(what, ACCOUNT) for what in ("bronze", "silver", "gold")}
    settings = served.config.dashboard
    assert settings is not None
    expected = task_environment(
        gold_uri=f"s3://{bucket['gold']}",
        region=REGION,
        load_balancer_arn=LOAD_BALANCER_ARN,
        restaurant_access=settings.restaurant_access,
        groups_claim=settings.groups_claim_name,
        health_uris={"bronze": f"s3://{bucket['bronze']}/bronze", "silver": f"s3://{bucket['silver']}"},
        lake_uri=f"s3://{bucket['bronze']}",
        catalog_namespace_prefix=served.config.catalog_namespace_prefix,
    )
    assert {e["name"]: e["value"] for e in container["environment"]} == expected
    # Gold's tables are found in the stack's Glue database, as the gold job registered them.
    assert expected["BI_CATALOG"] == "glue"
    assert expected["BI_CATALOG_NAMESPACE_PREFIX"] + "gold" == served.config.database("gold")
    assert container["portMappings"] == [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}]
    assert container["name"] == CONTAINER_NAME
    repository = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{served.config.name('dashboard')}"
    assert container["image"] == f"{repository}:{settings.image_tag or UNDEPLOYED_TAG}"
    task = served.named(TASK, "dashboard-task").inputs
    assert (task["cpu"], task["memory"]) == (str(settings.cpu), str(settings.memory))
    assert task["networkMode"] == "awsvpc" and task["requiresCompatibilities"] == ["FARGATE"]


def test_without_an_image_tag_the_service_runs_no_task_and_nothing_schedules_one(dev: Stack) -> None:
    assert dev.config.dashboard is not None and dev.config.dashboard.image_tag is None
    assert dev.named(SERVICE, "dashboard-service").inputs["desiredCount"] == 0
    assert not dev.of_type(SCHEDULED)
    capacity = dev.named(TARGET, "dashboard-capacity").inputs
    assert (capacity["minCapacity"], capacity["maxCapacity"]) == (0, 0)


def test_an_update_without_a_tag_keeps_the_image_the_service_runs(wheels: Path) -> None:
    """CI names the image in its own checkout only: an update from anywhere else must not stop the
    dashboard by forgetting which image runs."""
    running = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/acme-bi-dev-dashboard:3f2a9c1e"
    stack = declare("dev", wheels, vpc=ExistingVpc(running_image=running))
    assert stack.config.dashboard is not None and stack.config.dashboard.image_tag is None
    container = json.loads(stack.named(TASK, "dashboard-task").inputs["containerDefinitions"])[0]
    assert container["image"].endswith(":3f2a9c1e")
    assert (
        stack.named(SERVICE, "dashboard-service").inputs["desiredCount"]
        == stack.config.dashboard.desired_count
    )
    assert stack.of_type(SCHEDULED), "the schedule keeps working"


def test_a_deployed_image_runs_its_count_in_hours_and_none_out_of_hours(deployed: Stack, oidc: Stack) -> None:
    settings = deployed.config.dashboard
    assert settings is not None and settings.scale_to_zero is not None
    service = deployed.named(SERVICE, "dashboard-service").inputs
    assert service["desiredCount"] == settings.desired_count and service["launchType"] == "FARGATE"
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    actions = {a.name: a.inputs for a in deployed.of_type(SCHEDULED)}
    assert {name: (a["schedule"], a["scalableTargetAction"]) for name, a in actions.items()} == {
        "dashboard-scale-down": (settings.scale_to_zero.down_cron, {"minCapacity": 0, "maxCapacity": 0}),
        "dashboard-scale-up": (
            settings.scale_to_zero.up_cron,
            {"minCapacity": settings.desired_count, "maxCapacity": settings.desired_count},
        ),
    }
    assert all(a["timezone"] == settings.scale_to_zero.timezone for a in actions.values())
    # A deploy leaves the count to the schedule; without one (oidc here) the stack sets it.
    assert deployed.ignored == {"dashboard-service": ["desired_count"]}
    capacity = deployed.named(TARGET, "dashboard-capacity").inputs
    assert capacity["resourceId"] == f"service/{deployed.config.name('dashboard')}/{CONTAINER_NAME}"
    assert all(a["resourceId"] == capacity["resourceId"] for a in actions.values())
    assert oidc.config.dashboard is not None and oidc.config.dashboard.scale_to_zero is None
    assert oidc.ignored == {} and not oidc.of_type(TARGET) and not oidc.of_type(SCHEDULED)
    assert (
        oidc.named(SERVICE, "dashboard-service").inputs["desiredCount"] == oidc.config.dashboard.desired_count
    )


def test_an_existing_network_places_the_dashboard_in_the_subnets_given(wheels: Path) -> None:
    stack = declare(
        "dev", wheels, {"network": EXISTING, "dashboard": dev_dashboard(network=EXISTING_PLACEMENT)}
    )
    balancer = stack.named(LOAD_BALANCER, "dashboard-load-balancer").inputs
    assert balancer["subnets"] == EXISTING_PLACEMENT["loadBalancerSubnetIds"]
    network = stack.named(SERVICE, "dashboard-service").inputs["networkConfiguration"]
    assert network["subnets"] == EXISTING_PLACEMENT["taskSubnetIds"] and network["assignPublicIp"] is False
    assert not stack.of_type("aws:ec2/natGateway:NatGateway") and not stack.of_type("aws:ec2/vpc:Vpc")


@pytest.mark.parametrize(
    ("overrides", "vpc", "message"),
    [
        ({"network": EXISTING, "dashboard": dev_dashboard()}, ExistingVpc(), "bi:dashboard.network (vpcId"),
        (
            {"network": EXISTING, "dashboard": dev_dashboard(network=EXISTING_PLACEMENT)},
            ExistingVpc(subnet_vpc="vpc-0bbbbbbbbbbbbbbb2", group_vpc="vpc-0bbbbbbbbbbbbbbb2"),
            "not in vpcId vpc-0aaaaaaaaaaaaaaa1",
        ),
        (
            {"dashboard": dev_dashboard(network=EXISTING_PLACEMENT)},
            ExistingVpc(),
            "is for bi:network.mode existing",
        ),
        ({"dashboard": dev_dashboard(memory=512)}, ExistingVpc(), "memory 512 does not go with cpu 512"),
        (
            {
                "dashboard": dev_dashboard(
                    signIn={"oidc": {**OIDC, "clientSecretArn": SECRET_ARN.replace("dashboard-oidc", "idp")}}
                )
            },
            ExistingVpc(),
            "clientSecretArn must be the secret named acme-bi-dev-dashboard-oidc",
        ),
        (
            {"dashboard": {k: v for k, v in dev_dashboard().items() if k != "domainName"}},
            ExistingVpc(),
            "bi:dashboard.domainName: Field required",
        ),
        (
            {"network": {**stack_file("dev")[1]["network"], "cidr": "10.40.0.0/19"}},
            ExistingVpc(),
            "public subnets need a /18 or larger",
        ),
    ],
)
def test_a_wrong_dashboard_setting_is_one_line(
    wheels: Path, overrides: dict[str, Any], vpc: ExistingVpc, message: str
) -> None:
    with pytest.raises(UserError) as raised:
        declare("dev", wheels, overrides, vpc)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_an_all_digit_commit_that_pulumi_stored_as_a_number_is_still_the_tag() -> None:
    config = load_stack_file("dev", {"dashboard": dev_dashboard(imageTag=1234567)})
    assert config.dashboard is not None and config.dashboard.image_tag == "1234567"
