"""Where the ingest job's network interface lives, and how it reaches S3, AWS's APIs and SQL Server
without a NAT.

`bi:network.mode` says who owns the network:

- `create`: a VPC with a private subnet in each of two zones (no internet gateway, no NAT), an S3
  gateway endpoint on their route table, interface endpoints (private DNS) in the connection's zone
  (the first) for what the job calls besides S3, the self-referencing security group Glue requires
  of a connection, and egress to S3,
  to the endpoints and to SQL Server's address and port. How SQL Server is reached from this VPC
  (same VPC, peering, a VPN or Direct Connect) is the network team's: the stack routes nothing
  outside the VPC.
- `existing`: the subnet and security group of a network someone else runs; the program checks what
  it can see (the subnet is in the zone given, the group in the subnet's VPC, and the VPC has an S3
  gateway endpoint) and the README lists the rest (the self-referencing rule, endpoints or a NAT for
  the APIs, a route to SQL Server).

With `bi:dashboard` set, `create` adds what the dashboard needs: public subnets in both zones with an
internet gateway for the internet-facing load balancer, one NAT gateway (in the first zone) on the
private routes, and interface endpoints for ECR. The NAT is there because the tasks verify each
sign-in with the load balancer's public key, served only at
https://public-keys.auth.elb.<region>.amazonaws.com, for which there is no VPC endpoint. In `existing`,
`bi:dashboard.network` names the VPC and subnets, which must route the tasks to ECR, S3, CloudWatch
Logs, Glue (Gold's catalog) and that key endpoint.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from bi_infra.config import ExistingNetwork, NewNetwork, StackConfig
from bi_lake.errors import UserError

# What the ingest job calls besides S3: the source secret, the key, its logs and metrics, Glue itself
# (its connection and job run) and STS (the role's credentials).
INTERFACE_ENDPOINTS = ("secretsmanager", "kms", "logs", "monitoring", "glue", "sts")
# What the dashboard's tasks pull their image from (its layers come from S3, through the gateway).
DASHBOARD_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr")
HTTPS = 443
EVERYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class DashboardPlacement:
    """Where the dashboard stands: the load balancer's public subnets and the tasks' private ones."""

    vpc_id: pulumi.Input[str]
    load_balancer_subnet_ids: list[pulumi.Input[str]]
    task_subnet_ids: list[pulumi.Input[str]]
    # The S3 gateway's prefix list and the interface endpoints' group, where the stack created them.
    s3_prefix_list_id: pulumi.Input[str] | None = None
    endpoints_security_group_id: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class Network:
    subnet_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    availability_zone: str
    # Set when the stack serves the dashboard.
    dashboard: DashboardPlacement | None = None


def create_network(
    config: StackConfig, opts: pulumi.ResourceOptions, invoke: pulumi.InvokeOptions
) -> Network:
    settings = config.network
    if isinstance(settings, ExistingNetwork):
        return _existing(config, settings, invoke)
    return _create(config, settings, opts)


def subnet_cidrs(vpc_cidr: str, count: int) -> list[str]:
    """The first `count` of the VPC's /20s (or halves, for a small VPC)."""
    vpc = ipaddress.ip_network(vpc_cidr)
    prefix = max(vpc.prefixlen + 1, min(20, vpc.prefixlen + 4))
    return [str(subnet) for subnet in list(vpc.subnets(new_prefix=prefix))[:count]]


def _create(config: StackConfig, settings: NewNetwork, opts: pulumi.ResourceOptions) -> Network:
    vpc = aws.ec2.Vpc(
        "vpc",
        cidr_block=settings.cidr,
        # Interface endpoints answer under the services' own names only with DNS on.
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags={"Name": config.name("vpc")},
        opts=opts,
    )
    route_table = aws.ec2.RouteTable(
        "private-routes", vpc_id=vpc.id, tags={"Name": config.name("private")}, opts=opts
    )
    zones = settings.availability_zones
    placed = list(zip(zones, subnet_cidrs(settings.cidr, len(zones)), strict=True))
    subnets = _subnets(config, "private", vpc, placed, route_table, opts)
    s3 = aws.ec2.VpcEndpoint(
        "s3-endpoint",
        vpc_id=vpc.id,
        service_name=f"com.amazonaws.{config.region}.s3",
        vpc_endpoint_type="Gateway",
        route_table_ids=[route_table.id],
        tags={"Name": config.name("s3")},
        opts=opts,
    )
    glue, endpoints = (
        aws.ec2.SecurityGroup(
            f"{what}-sg", name=config.name(what), description=description, vpc_id=vpc.id, opts=opts
        )
        for what, description in (
            ("glue", "Glue connection: itself (Glue requires it), S3, the endpoints and SQL Server"),
            ("endpoints", "Interface endpoints: HTTPS from the Glue connection"),
        )
    )
    every_port, https, sql_server = (0, 65535), (HTTPS, HTTPS), (settings.sql_server_port,) * 2
    ingress, egress = aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule
    glue_peer, endpoints_peer = (
        {"referenced_security_group_id": glue.id},
        {"referenced_security_group_id": endpoints.id},
    )
    rules: list[Rule] = [
        # Glue's workers talk to each other on any TCP port: a connection's group must admit itself.
        ("glue-from-itself", ingress, glue, glue_peer, every_port, "Glue workers"),
        ("glue-to-itself", egress, glue, glue_peer, every_port, "Glue workers"),
        ("glue-to-s3", egress, glue, {"prefix_list_id": s3.prefix_list_id}, https, "S3 (gateway endpoint)"),
        ("glue-to-endpoints", egress, glue, endpoints_peer, https, "AWS APIs"),
        (
            "glue-to-sqlserver",
            egress,
            glue,
            {"cidr_ipv4": settings.sql_server_cidr},
            sql_server,
            "SQL Server",
        ),
        ("endpoints-from-glue", ingress, endpoints, glue_peer, https, "Glue"),
    ]
    add_rules(rules, opts)
    services = INTERFACE_ENDPOINTS + (DASHBOARD_INTERFACE_ENDPOINTS if config.dashboard else ())
    for service in services:
        aws.ec2.VpcEndpoint(
            f"{service.replace('.', '-')}-endpoint",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{config.region}.{service}",
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            # In the connection's zone only: the job's interface lives there, and each zone of an
            # endpoint costs as much again. Reordering availabilityZones moves both.
            subnet_ids=[subnets[0].id],
            security_group_ids=[endpoints.id],
            tags={"Name": config.name(service)},
            opts=opts,
        )
    pulumi.export("vpc_id", vpc.id)
    placement = None
    if config.dashboard is not None:
        placement = DashboardPlacement(
            vpc_id=vpc.id,
            load_balancer_subnet_ids=_public_subnets(config, settings, vpc, route_table, opts),
            task_subnet_ids=[subnet.id for subnet in subnets],
            s3_prefix_list_id=s3.prefix_list_id,
            endpoints_security_group_id=endpoints.id,
        )
    return Network(
        subnet_id=subnets[0].id,
        security_group_id=glue.id,
        availability_zone=settings.availability_zones[0],
        dashboard=placement,
    )


def _public_subnets(
    config: StackConfig,
    settings: NewNetwork,
    vpc: aws.ec2.Vpc,
    private_routes: aws.ec2.RouteTable,
    opts: pulumi.ResourceOptions,
) -> list[pulumi.Input[str]]:
    """The load balancer's subnets, one per zone after the private ones, routed to the internet; and
    the private subnets' way out through one NAT gateway, for the load balancer's key endpoint."""
    zones = settings.availability_zones
    gateway = aws.ec2.InternetGateway(
        "internet-gateway", vpc_id=vpc.id, tags={"Name": config.name("internet")}, opts=opts
    )
    routes = aws.ec2.RouteTable(
        "public-routes", vpc_id=vpc.id, tags={"Name": config.name("public")}, opts=opts
    )
    aws.ec2.Route(
        "public-default-route",
        route_table_id=routes.id,
        destination_cidr_block=EVERYWHERE,
        gateway_id=gateway.id,
        opts=opts,
    )
    cidrs = subnet_cidrs(settings.cidr, 2 * len(zones))
    if len(cidrs) < 2 * len(zones):
        raise UserError(
            f"bi:network.cidr {settings.cidr} has room for the private subnets only: the dashboard's public "
            "subnets need a /18 or larger"
        )
    subnets = _subnets(
        config, "public", vpc, list(zip(zones, cidrs[len(zones) :], strict=True)), routes, opts
    )
    # One NAT, in the first zone: the key endpoint is read once per key, and a second NAT would double
    # the network's largest fixed cost for a zone the interface endpoints do not cover either.
    address = aws.ec2.Eip("nat-address", domain="vpc", tags={"Name": config.name("nat")}, opts=opts)
    nat = aws.ec2.NatGateway(
        "nat",
        allocation_id=address.allocation_id,
        subnet_id=subnets[0].id,
        tags={"Name": config.name("nat")},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[gateway])),
    )
    aws.ec2.Route(
        "private-default-route",
        route_table_id=private_routes.id,
        destination_cidr_block=EVERYWHERE,
        nat_gateway_id=nat.id,
        opts=opts,
    )
    return [subnet.id for subnet in subnets]


# A TCP rule: its resource name, ingress or egress, the group it belongs to, the peer (a group, a
# prefix list or a range), its ports and what it is for.
Rule = tuple[str, Any, aws.ec2.SecurityGroup, dict[str, Any], tuple[int, int], str]


def add_rules(rules: list[Rule], opts: pulumi.ResourceOptions) -> None:
    for name, kind, group, peer, (low, high), description in rules:
        kind(
            name,
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=low,
            to_port=high,
            description=description,
            opts=opts,
            **peer,
        )


def _subnets(
    config: StackConfig,
    kind: str,
    vpc: aws.ec2.Vpc,
    placed: list[tuple[str, str]],
    routes: aws.ec2.RouteTable,
    opts: pulumi.ResourceOptions,
) -> list[aws.ec2.Subnet]:
    """One `kind` subnet per (zone, range), on `routes`; none gives its instances a public address
    (the load balancer and the NAT in public subnets have addresses of their own)."""
    subnets = []
    for index, (zone, cidr) in enumerate(placed):
        subnet = aws.ec2.Subnet(
            f"{kind}-{index}",
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={"Name": config.name(f"{kind}-{zone}")},
            opts=opts,
        )
        aws.ec2.RouteTableAssociation(
            f"{kind}-{index}-routes", subnet_id=subnet.id, route_table_id=routes.id, opts=opts
        )
        subnets.append(subnet)
    return subnets


def _admits_itself(group_id: str, invoke: pulumi.InvokeOptions) -> bool:
    """Whether the group has an ingress rule from itself on every TCP port (or every protocol)."""
    rules = aws.vpc.get_security_group_rules(
        filters=[{"name": "group-id", "values": [group_id]}], opts=invoke
    )
    for rule_id in rules.ids:
        rule = aws.vpc.get_security_group_rule(security_group_rule_id=rule_id, opts=invoke)
        every_tcp_port = rule.ip_protocol == "tcp" and (rule.from_port, rule.to_port) == (0, 65535)
        if (
            not rule.is_egress
            and rule.referenced_security_group_id == group_id
            and (rule.ip_protocol == "-1" or every_tcp_port)
        ):
            return True
    return False


def _existing(config: StackConfig, settings: ExistingNetwork, invoke: pulumi.InvokeOptions) -> Network:
    where, region = "bi:network", config.region
    subnet = aws.ec2.get_subnet(id=settings.subnet_id, opts=invoke)
    if subnet.availability_zone != settings.availability_zone:
        raise UserError(
            f"{where}.subnetId {settings.subnet_id} is in {subnet.availability_zone}, "
            f"not in {where}.availabilityZone {settings.availability_zone}"
        )
    group = aws.ec2.get_security_group(id=settings.security_group_id, opts=invoke)
    if group.vpc_id != subnet.vpc_id:
        raise UserError(
            f"{where}.securityGroupId {settings.security_group_id} is in {group.vpc_id}, "
            f"the subnet in {subnet.vpc_id}"
        )
    if not _admits_itself(settings.security_group_id, invoke):
        raise UserError(
            f"{where}.securityGroupId {settings.security_group_id} has no inbound rule from itself on all "
            "TCP ports, which Glue requires of a connection's security group"
        )
    try:
        aws.ec2.get_vpc_endpoint(
            vpc_id=subnet.vpc_id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            opts=invoke,
        )
    except Exception as exc:
        raise UserError(
            f"VPC {subnet.vpc_id} has no S3 gateway endpoint ({str(exc).splitlines()[0][:120]}): the ingest "
            "job writes Bronze to S3 from its subnet; add one, or set bi:network.mode to create"
        ) from None
    return Network(
        subnet_id=pulumi.Output.from_input(settings.subnet_id),
        security_group_id=pulumi.Output.from_input(settings.security_group_id),
        availability_zone=settings.availability_zone,
        dashboard=_existing_placement(config, invoke),
    )


def _existing_placement(config: StackConfig, invoke: pulumi.InvokeOptions) -> DashboardPlacement | None:
    """The dashboard's subnets as given, once each is seen in the VPC given."""
    if config.dashboard is None or config.dashboard.network is None:
        return None
    given = config.dashboard.network
    for subnet_id in (*given.load_balancer_subnet_ids, *given.task_subnet_ids):
        found = aws.ec2.get_subnet(id=subnet_id, opts=invoke)
        if found.vpc_id != given.vpc_id:
            raise UserError(
                f"bi:dashboard.network names subnet {subnet_id}, which is in {found.vpc_id}, "
                f"not in vpcId {given.vpc_id}"
            )
    return DashboardPlacement(
        vpc_id=given.vpc_id,
        load_balancer_subnet_ids=list(given.load_balancer_subnet_ids),
        task_subnet_ids=list(given.task_subnet_ids),
    )
