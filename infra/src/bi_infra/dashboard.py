"""The dashboard as a deployable: its image repository, an ECS Fargate service in the private subnets
and an internet-facing Application Load Balancer that signs every user in before a request reaches
a task (`bi:dashboard`; absent, none of this exists).

- The load balancer answers HTTPS only (HTTP redirects), with the stack's certificate. Its one
  listener authenticates first (the stack's Cognito user pool, or the OpenID Connect provider of
  `bi:dashboard.signIn.oidc`) and only then forwards; the tasks check the identity it signed
  (`bi_dashboard.settings`), so a request that did not come through it shows nothing.
- The tasks run as the stack's read-only dashboard role (`access.dashboard_policy`); ECS starts them
  with an execution role that may only pull the image and write its logs.
- CI pushes an image tagged with the commit and deploys it by setting `bi:dashboard.imageTag`; without
  a tag the service runs no task. Tags are immutable and the repository keeps the last `keepImages`.
- `scaleToZero` stops the tasks out of hours (scheduled capacity) and starts them again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from bi_infra import access
from bi_infra.config import Dashboard, StackConfig
from bi_infra.dashboard_task import CONTAINER_PORT, HEALTH_PATH, task_environment
from bi_infra.network import EVERYWHERE, HTTPS, DashboardPlacement, Rule, add_rules
from bi_lake.errors import UserError

CONTAINER_NAME = "dashboard"
# The image a task definition names before CI has deployed one; the service then runs no task.
UNDEPLOYED_TAG = "undeployed"
HTTP = 80
# Streamlit keeps one WebSocket per browser session and sends nothing while the user reads; the load
# balancer closes a connection idle for longer than this, and the page then reconnects and reruns.
# An hour keeps a dashboard read in a meeting from reconnecting, at no cost.
IDLE_TIMEOUT_SECONDS = 3600
# How long a sign-in lasts before the load balancer sends the user to the provider again: a working day.
SESSION_TIMEOUT_SECONDS = 8 * 3600
# TLS 1.3 and 1.2 only: the policy AWS recommends for a load balancer's HTTPS listener.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# A task being replaced has this long to finish its requests; sessions reconnect to the new one anyway.
DEREGISTRATION_DELAY_SECONDS = 30
# Failed health checks do not count against a new task for this long: its start and Streamlit's.
HEALTH_CHECK_GRACE_SECONDS = 60
# The stickiness cookie keeps a browser on the task that holds its session state, for a day.
STICKINESS_SECONDS = 86400
OIDC_SCOPE = "openid email profile"
LOAD_BALANCER_NAME_MAX = 32
COGNITO_DOMAIN_MAX = 63
# The user pool's attribute listing a user's groups, set by administrators (`custom:groups`).
GROUPS_ATTRIBUTE = "groups"
GROUPS_ATTRIBUTE_MAX_LENGTH = 2048
PASSWORD_MIN_LENGTH = 12


def running_image_tag(family: str, invoke: pulumi.InvokeOptions) -> str | None:
    """The tag of the image the service runs now, when the stack file names none: CI sets
    `bi:dashboard.imageTag` in its own checkout only, so an update from anywhere else keeps the image
    deployed rather than stopping the dashboard. None before the first deployment of an image."""
    try:
        found = aws.ecs.get_task_definition(task_definition=family, opts=invoke)
    except Exception:
        return None  # no task definition yet: the stack's first update
    for container in json.loads(found.container_definitions):
        if container.get("name") == CONTAINER_NAME:
            tag = str(container.get("image", "")).rpartition(":")[2]
            return tag if tag and tag != UNDEPLOYED_TAG else None
    return None


def log_group_name(config: StackConfig) -> str:
    return f"/ecs/{config.name('dashboard')}"


def repository_name(config: StackConfig) -> str:
    """What CI pushes to (the bootstrap's deploy role may push to exactly this name)."""
    return config.name("dashboard")


def cognito_domain_prefix(config: StackConfig, account: str) -> str:
    """The sign-in page's prefix: unique per region across accounts, so it carries the account."""
    return f"{config.name('dashboard')}-{account}"[:COGNITO_DOMAIN_MAX].rstrip("-")


def lifecycle_policy(keep_images: int) -> dict[str, object]:
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Keep the last {keep_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            }
        ]
    }


def container_definitions(
    image: str, environment: dict[str, str], log_group: str, region: str
) -> list[dict[str, object]]:
    return [
        {
            "name": CONTAINER_NAME,
            "image": image,
            "essential": True,
            "portMappings": [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}],
            "environment": [{"name": name, "value": value} for name, value in sorted(environment.items())],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": CONTAINER_NAME,
                },
            },
            # Streamlit and DuckDB may write under the home and temporary folders; a read-only root
            # would need each of them mounted writable, which nothing here has tried.
            "readonlyRootFilesystem": False,
        }
    ]


def create_dashboard(
    config: StackConfig,
    placement: DashboardPlacement | None,
    lake: Mapping[str, pulumi.Output[str]],
    key: aws.kms.Key,
    reader: aws.iam.Role,
    arns: pulumi.Output[access.Arns],
    opts: pulumi.ResourceOptions,
    invoke: pulumi.InvokeOptions,
) -> None:
    """Everything the dashboard is served with; `opts` must wait for the key policy (the log group).
    `lake` is where the jobs are told the lake is (root and layers): the container reads the same."""
    settings = config.dashboard
    assert settings is not None and placement is not None, "only for a stack with bi:dashboard"
    name = config.name("dashboard")
    if len(name) > LOAD_BALANCER_NAME_MAX:
        raise UserError(
            f"load balancer name {name} is {len(name)} characters, AWS allows {LOAD_BALANCER_NAME_MAX}: "
            "shorten bi:namePrefix"
        )
    repository = aws.ecr.Repository(
        "dashboard-repository",
        name=repository_name(config),
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        # The images hold code, no data: ECR's own AES-256 keeps them encrypted at rest without the
        # grants and key-policy entries the project key would need for pushes and pulls.
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
        force_delete=not config.protect_data,
        opts=opts,
    )
    aws.ecr.LifecyclePolicy(
        "dashboard-repository-lifecycle",
        repository=repository.name,
        policy=json.dumps(lifecycle_policy(settings.keep_images)),
        opts=opts,
    )
    logs = aws.cloudwatch.LogGroup(
        "dashboard-logs",
        name=log_group_name(config),
        retention_in_days=config.log_retention_days,
        kms_key_id=key.arn,
        opts=opts,
    )
    execution = aws.iam.Role(
        "dashboard-execution-role",
        name=config.name("dashboard-execution"),
        description="ECS starting the dashboard's tasks: pull the image, write the logs",
        assume_role_policy=arns.apply(
            lambda a: json.dumps({"Version": "2012-10-17", "Statement": [access.ecs_tasks_trust(a.account)]})
        ),
        opts=opts,
    )
    aws.iam.RolePolicy(
        "dashboard-execution-policy",
        role=execution.id,
        policy=arns.apply(
            lambda a: json.dumps(
                access.dashboard_execution_policy(a, repository_name(config), log_group_name(config))
            )
        ),
        opts=opts,
    )
    load_balancer_group, task_group = _security_groups(config, settings, placement, opts)
    load_balancer = aws.lb.LoadBalancer(
        "dashboard-load-balancer",
        name=name,
        load_balancer_type="application",
        internal=False,
        subnets=placement.load_balancer_subnet_ids,
        security_groups=[load_balancer_group.id],
        idle_timeout=IDLE_TIMEOUT_SECONDS,
        # Headers the load balancer would not itself send (an `x-amzn-oidc-*` look-alike among them)
        # never reach the tasks.
        drop_invalid_header_fields=True,
        enable_deletion_protection=config.protect_data,
        opts=opts,
    )
    target_group = aws.lb.TargetGroup(
        "dashboard-targets",
        target_type="ip",
        protocol="HTTP",
        port=CONTAINER_PORT,
        vpc_id=placement.vpc_id,
        deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            path=HEALTH_PATH, protocol="HTTP", matcher="200", interval=15, healthy_threshold=2
        ),
        stickiness=aws.lb.TargetGroupStickinessArgs(
            type="lb_cookie", enabled=True, cookie_duration=STICKINESS_SECONDS
        ),
        opts=opts,
    )
    host = pulumi.Output.from_input(settings.domain_name)
    sign_in = _sign_in(config, settings, host, arns, opts, invoke)
    aws.lb.Listener(
        "dashboard-http",
        load_balancer_arn=load_balancer.arn,
        port=HTTP,
        protocol="HTTP",
        default_actions=[
            aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    protocol="HTTPS", port=str(HTTPS), status_code="HTTP_301"
                ),
            )
        ],
        opts=opts,
    )
    https = aws.lb.Listener(
        "dashboard-https",
        load_balancer_arn=load_balancer.arn,
        port=HTTPS,
        protocol="HTTPS",
        ssl_policy=TLS_POLICY,
        certificate_arn=settings.certificate_arn,
        default_actions=[
            sign_in,
            aws.lb.ListenerDefaultActionArgs(type="forward", order=2, target_group_arn=target_group.arn),
        ],
        opts=opts,
    )
    cluster = aws.ecs.Cluster("dashboard-cluster", name=name, opts=opts)
    deployed = settings.image_tag or running_image_tag(name, invoke)
    image_tag = deployed or UNDEPLOYED_TAG
    environment = pulumi.Output.all(
        lake["root"], lake["bronze"], lake["silver"], lake["gold"], load_balancer.arn
    ).apply(
        lambda a: task_environment(
            gold_uri=a[3],
            region=config.region,
            load_balancer_arn=a[4],
            restaurant_access=settings.restaurant_access,
            groups_claim=settings.groups_claim_name,
            health_uris={"bronze": a[1], "silver": a[2]},
            lake_uri=a[0],
            catalog_namespace_prefix=config.catalog_namespace_prefix,
        )
    )
    task = aws.ecs.TaskDefinition(
        "dashboard-task",
        family=name,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(settings.cpu),
        memory=str(settings.memory),
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture="X86_64"
        ),
        task_role_arn=reader.arn,
        execution_role_arn=execution.arn,
        container_definitions=pulumi.Output.all(repository.repository_url, environment).apply(
            lambda a: json.dumps(
                container_definitions(f"{a[0]}:{image_tag}", a[1], log_group_name(config), config.region)
            )
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[logs])),
    )
    desired = settings.desired_count if deployed else 0
    scheduled = settings.scale_to_zero is not None
    service = aws.ecs.Service(
        "dashboard-service",
        name=CONTAINER_NAME,
        cluster=cluster.arn,
        task_definition=task.arn,
        launch_type="FARGATE",
        desired_count=desired,
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=placement.task_subnet_ids, security_groups=[task_group.id], assign_public_ip=False
        ),
        load_balancers=[
            aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=target_group.arn,
                container_name=CONTAINER_NAME,
                container_port=CONTAINER_PORT,
            )
        ],
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS,
        propagate_tags="SERVICE",
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                depends_on=[https],
                # Out of hours the schedule owns the count: a deploy must not start the tasks again.
                ignore_changes=["desired_count"] if scheduled else None,
            ),
        ),
    )
    if settings.scale_to_zero is not None:
        _scale_to_zero(config, settings, desired, deployed is not None, cluster, service, opts)
    pulumi.export("dashboard_url", pulumi.Output.concat("https://", host))
    pulumi.export("dashboard_repository", repository.repository_url)
    pulumi.export("dashboard_image_tag", deployed)


def _security_groups(
    config: StackConfig, settings: Dashboard, placement: DashboardPlacement, opts: pulumi.ResourceOptions
) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
    """The load balancer's group (HTTPS and HTTP from `allowedCidrs`) and the tasks' (the container port
    from the load balancer only)."""
    load_balancer, tasks = (
        aws.ec2.SecurityGroup(
            f"dashboard-{what}-sg",
            name=config.name(f"dashboard-{what}"),
            description=description,
            vpc_id=placement.vpc_id,
            opts=opts,
        )
        for what, description in (
            ("load-balancer", "Dashboard load balancer: HTTPS from the allowed networks"),
            ("tasks", "Dashboard tasks: the container port from the load balancer"),
        )
    )
    ingress, egress = aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule
    container, https = (CONTAINER_PORT, CONTAINER_PORT), (HTTPS, HTTPS)
    rules: list[Rule] = []
    for index, cidr in enumerate(settings.allowed_cidrs):
        rules += [
            (f"dashboard-https-{index}", ingress, load_balancer, {"cidr_ipv4": cidr}, https, "Users"),
            (
                f"dashboard-http-{index}",
                ingress,
                load_balancer,
                {"cidr_ipv4": cidr},
                (HTTP, HTTP),
                "Users (redirected)",
            ),
        ]
    tasks_peer, load_balancer_peer = (
        {"referenced_security_group_id": tasks.id},
        {"referenced_security_group_id": load_balancer.id},
    )
    rules += [
        # The load balancer calls the identity provider's token and user-info endpoints itself.
        ("dashboard-lb-to-idp", egress, load_balancer, {"cidr_ipv4": EVERYWHERE}, https, "Identity provider"),
        ("dashboard-lb-to-tasks", egress, load_balancer, tasks_peer, container, "Dashboard tasks"),
        ("dashboard-tasks-from-lb", ingress, tasks, load_balancer_peer, container, "Load balancer"),
        # The load balancer's public keys have no VPC endpoint and no fixed addresses: HTTPS anywhere,
        # through the NAT. The rules below say what the rest of the traffic is for, and stay right if
        # this one is ever narrowed.
        ("dashboard-tasks-to-internet", egress, tasks, {"cidr_ipv4": EVERYWHERE}, https, "Sign-in keys"),
    ]
    if placement.s3_prefix_list_id is not None:
        rules.append(
            (
                "dashboard-tasks-to-s3",
                egress,
                tasks,
                {"prefix_list_id": placement.s3_prefix_list_id},
                https,
                "S3",
            )
        )
    if placement.endpoints_security_group_id is not None:
        endpoints = {"referenced_security_group_id": placement.endpoints_security_group_id}
        rules.append(("dashboard-tasks-to-endpoints", egress, tasks, endpoints, https, "ECR, logs, Glue"))
        ingress(
            "endpoints-from-dashboard",
            security_group_id=placement.endpoints_security_group_id,
            referenced_security_group_id=tasks.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="Dashboard tasks",
            opts=opts,
        )
    add_rules(rules, opts)
    return load_balancer, tasks


def _sign_in(
    config: StackConfig,
    settings: Dashboard,
    host: pulumi.Output[str],
    arns: pulumi.Output[access.Arns],
    opts: pulumi.ResourceOptions,
    invoke: pulumi.InvokeOptions,
) -> aws.lb.ListenerDefaultActionArgs:
    """The listener's first action: sign the user in (or send them to sign in) before anything else."""
    if settings.sign_in is not None:
        oidc = settings.sign_in.oidc
        secret = aws.secretsmanager.get_secret_version_output(secret_id=oidc.client_secret_arn, opts=invoke)
        return aws.lb.ListenerDefaultActionArgs(
            type="authenticate-oidc",
            order=1,
            authenticate_oidc=aws.lb.ListenerDefaultActionAuthenticateOidcArgs(
                issuer=oidc.issuer,
                authorization_endpoint=oidc.authorization_endpoint,
                token_endpoint=oidc.token_endpoint,
                user_info_endpoint=oidc.user_info_endpoint,
                client_id=oidc.client_id,
                client_secret=pulumi.Output.secret(secret.secret_string),
                scope=OIDC_SCOPE,
                on_unauthenticated_request="authenticate",
                session_timeout=SESSION_TIMEOUT_SECONDS,
            ),
        )
    pool, client, domain = _user_pool(config, host, arns, opts)
    return aws.lb.ListenerDefaultActionArgs(
        type="authenticate-cognito",
        order=1,
        authenticate_cognito=aws.lb.ListenerDefaultActionAuthenticateCognitoArgs(
            user_pool_arn=pool.arn,
            user_pool_client_id=client.id,
            user_pool_domain=domain.domain,
            scope=OIDC_SCOPE,
            on_unauthenticated_request="authenticate",
            session_timeout=SESSION_TIMEOUT_SECONDS,
        ),
    )


def _user_pool(
    config: StackConfig,
    host: pulumi.Output[str],
    arns: pulumi.Output[access.Arns],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.cognito.UserPool, aws.cognito.UserPoolClient, aws.cognito.UserPoolDomain]:
    """Users an administrator invites (no sign-up), each with the groups an administrator sets in the
    `custom:groups` attribute: Cognito's user-info answer, which the load balancer passes on, carries
    a user's attributes but not their Cognito groups."""
    pool = aws.cognito.UserPool(
        "dashboard-users",
        name=config.name("dashboard"),
        user_pool_tier="LITE",
        username_attributes=["email"],
        auto_verified_attributes=["email"],
        admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(
            allow_admin_create_user_only=True
        ),
        password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
            minimum_length=PASSWORD_MIN_LENGTH,
            require_lowercase=True,
            require_uppercase=True,
            require_numbers=True,
            require_symbols=True,
            temporary_password_validity_days=3,
        ),
        mfa_configuration="OPTIONAL",
        software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
        account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
            recovery_mechanisms=[
                aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(
                    name="verified_email", priority=1
                )
            ]
        ),
        schemas=[
            aws.cognito.UserPoolSchemaArgs(
                name=GROUPS_ATTRIBUTE,
                attribute_data_type="String",
                mutable=True,
                developer_only_attribute=False,
                required=False,
                string_attribute_constraints=aws.cognito.UserPoolSchemaStringAttributeConstraintsArgs(
                    min_length="0", max_length=str(GROUPS_ATTRIBUTE_MAX_LENGTH)
                ),
            )
        ],
        deletion_protection="ACTIVE" if config.protect_data else "INACTIVE",
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=config.protect_data)),
    )
    domain = aws.cognito.UserPoolDomain(
        "dashboard-sign-in",
        domain=arns.apply(lambda a: cognito_domain_prefix(config, a.account)),
        user_pool_id=pool.id,
        opts=opts,
    )
    client = aws.cognito.UserPoolClient(
        "dashboard-client",
        name=config.name("dashboard"),
        user_pool_id=pool.id,
        generate_secret=True,
        allowed_oauth_flows_user_pool_client=True,
        allowed_oauth_flows=["code"],
        allowed_oauth_scopes=OIDC_SCOPE.split(),
        callback_urls=[pulumi.Output.concat("https://", host, "/oauth2/idpresponse")],
        supported_identity_providers=["COGNITO"],
        read_attributes=["email", "email_verified", "name", f"custom:{GROUPS_ATTRIBUTE}"],
        # Users may change their display name only: their groups are set by administrators.
        write_attributes=["name"],
        prevent_user_existence_errors="ENABLED",
        opts=opts,
    )
    pulumi.export("dashboard_user_pool_id", pool.id)
    return pool, client, domain


def _scale_to_zero(
    config: StackConfig,
    settings: Dashboard,
    desired: int,
    has_image: bool,
    cluster: aws.ecs.Cluster,
    service: aws.ecs.Service,
    opts: pulumi.ResourceOptions,
) -> None:
    """The schedule owns the service's count: zero out of hours, `desiredCount` in hours. Until CI has
    deployed an image the capacity stays at zero and nothing is scheduled, so no task starts without
    one; when the first tag raises the capacity to `desiredCount`, the tasks start (at the latest at
    the next scale-up)."""
    schedule = settings.scale_to_zero
    assert schedule is not None
    target = aws.appautoscaling.Target(
        "dashboard-capacity",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
        min_capacity=desired,
        max_capacity=desired,
        opts=opts,
    )
    if not has_image:
        return
    for what, cron, count in (
        ("down", schedule.down_cron, 0),
        ("up", schedule.up_cron, settings.desired_count),
    ):
        aws.appautoscaling.ScheduledAction(
            f"dashboard-scale-{what}",
            name=config.name(f"dashboard-{what}"),
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            schedule=cron,
            timezone=schedule.timezone,
            scalable_target_action=aws.appautoscaling.ScheduledActionScalableTargetActionArgs(
                min_capacity=count, max_capacity=count
            ),
            opts=opts,
        )
