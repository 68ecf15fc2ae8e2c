"""The network under Pulumi's mocks, one test per policy: what `bi:network.mode: create` builds, and
what the program checks of a network it is given (`existing`)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from bi_infra.network import DASHBOARD_INTERFACE_ENDPOINTS, INTERFACE_ENDPOINTS
from bi_lake.errors import UserError
from tests.infra.conftest import (
    ACCOUNT,
    EXISTING_GROUP,
    EXISTING_SUBNET,
    REGION,
    ExistingVpc,
    Stack,
    declare,
)

ENDPOINT, SUBNET = "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/subnet:Subnet"
INGRESS, EGRESS = (
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"),
)
CONNECTION = "aws:glue/connection:Connection"
EXISTING = {
    "mode": "existing",
    "subnetId": EXISTING_SUBNET,
    "securityGroupId": EXISTING_GROUP,
    "availabilityZone": "eu-west-1a",
}


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest, wheels: Path) -> Stack:
    # Named so the markers see it: the stacks are declared with the jobs' wheels, built for them.
    found: Stack = request.getfixturevalue(request.param)
    return found


def test_both_stacks_create_private_subnets_reaching_the_internet_only_for_the_dashboard(
    stack: Stack,
) -> None:
    network = stack.config.network
    assert network.mode == "create"
    subnets = [s for s in stack.of_type(SUBNET) if s.name.startswith("private-")]
    assert {s.inputs["availabilityZone"] for s in subnets} == set(network.availability_zones)
    assert len(subnets) == 2 and not any(s.inputs.get("mapPublicIpOnLaunch") for s in subnets)
    vpc = ipaddress.IPv4Network(network.cidr)
    assert all(ipaddress.IPv4Network(s.inputs["cidrBlock"]).subnet_of(vpc) for s in subnets)
    internet = ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip")
    if stack.config.dashboard is None:
        assert not [r.name for r in stack.resources if r.type in internet]
        assert not stack.of_type("aws:ec2/route:Route")
        assert len(stack.of_type(SUBNET)) == 2
        return
    # The dashboard's load balancer stands in public subnets of both zones; its tasks reach the load
    # balancer's key endpoint through one NAT (the Glue group's egress keeps the job off it).
    public = [s for s in stack.of_type(SUBNET) if s.name.startswith("public-")]
    assert {s.inputs["availabilityZone"] for s in public} == set(network.availability_zones)
    cidrs = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in [*subnets, *public]]
    assert all(c.subnet_of(vpc) for c in cidrs) and len(set(cidrs)) == 4
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])
    (nat,) = stack.of_type("aws:ec2/natGateway:NatGateway")
    assert nat.inputs["subnetId"] == "public-0-id"
    routes = {r.inputs["routeTableId"]: r.inputs for r in stack.of_type("aws:ec2/route:Route")}
    assert routes["public-routes-id"]["gatewayId"] == "internet-gateway-id"
    assert routes["private-routes-id"]["natGatewayId"] == "nat-id"
    assert all(r["destinationCidrBlock"] == "0.0.0.0/0" for r in routes.values())


def test_s3_is_reached_through_a_gateway_endpoint_on_the_subnets_routes(stack: Stack) -> None:
    (s3,) = [e for e in stack.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    assert s3.inputs["serviceName"] == f"com.amazonaws.{REGION}.s3"
    assert s3.inputs["routeTableIds"] == ["private-routes-id"]
    associations = {
        a.inputs["subnetId"]: a.inputs["routeTableId"]
        for a in stack.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    }
    assert {s: t for s, t in associations.items() if s.startswith("private-")} == {
        "private-0-id": "private-routes-id",
        "private-1-id": "private-routes-id",
    }
    assert set(associations.values()) <= {"private-routes-id", "public-routes-id"}


def test_every_api_the_jobs_call_has_an_interface_endpoint_in_the_connections_subnet(stack: Stack) -> None:
    interfaces = {
        e.inputs["serviceName"]: e.inputs for e in stack.of_type(ENDPOINT) if e.name != "s3-endpoint"
    }
    dashboard = DASHBOARD_INTERFACE_ENDPOINTS if stack.config.dashboard else ()
    assert set(interfaces) == {f"com.amazonaws.{REGION}.{s}" for s in (*INTERFACE_ENDPOINTS, *dashboard)}
    assert {"secretsmanager", "kms", "logs", "monitoring", "glue", "sts"} <= set(INTERFACE_ENDPOINTS)
    for endpoint in interfaces.values():
        assert endpoint["vpcEndpointType"] == "Interface" and endpoint["privateDnsEnabled"] is True
        # The connection's subnet: the job's interface is there, and each zone costs as much again.
        assert endpoint["subnetIds"] == ["private-0-id"]
        assert endpoint["securityGroupIds"] == ["endpoints-sg-id"]
    vpc = stack.named("aws:ec2/vpc:Vpc", "vpc").inputs
    assert vpc["enableDnsSupport"] and vpc["enableDnsHostnames"]


def _rules(stack: Stack, kind: str, group: str) -> list[dict[str, Any]]:
    return [r.inputs for r in stack.of_type(kind) if r.inputs["securityGroupId"] == group]


def test_the_glue_group_admits_itself_and_reaches_only_s3_the_endpoints_and_sql_server(stack: Stack) -> None:
    glue, endpoints = "glue-sg-id", "endpoints-sg-id"
    (ingress,) = _rules(stack, INGRESS, glue)
    assert ingress["referencedSecurityGroupId"] == glue
    assert (ingress["ipProtocol"], ingress["fromPort"], ingress["toPort"]) == ("tcp", 0, 65535)
    egress = {
        (
            r.get("referencedSecurityGroupId") or r.get("cidrIpv4") or r.get("prefixListId"),
            r["fromPort"],
            r["toPort"],
        )
        for r in _rules(stack, EGRESS, glue)
    }
    network = stack.config.network
    assert network.mode == "create"
    port = network.sql_server_port
    assert egress == {
        (glue, 0, 65535),
        ("pl-s3-endpoint", 443, 443),
        (endpoints, 443, 443),
        (network.sql_server_cidr, port, port),
    }
    sources = {r["referencedSecurityGroupId"]: r["fromPort"] for r in _rules(stack, INGRESS, endpoints)}
    dashboard = {"dashboard-tasks-sg-id": 443} if stack.config.dashboard else {}
    assert sources == {glue: 443, **dashboard}


def test_the_ingest_connection_and_role_use_the_created_subnet_and_group(stack: Stack) -> None:
    network = stack.config.network
    assert network.mode == "create"
    requirements = stack.named(CONNECTION, "sqlserver-network").inputs["physicalConnectionRequirements"]
    assert requirements["subnetId"] == "private-0-id"
    assert requirements["securityGroupIdLists"] == ["glue-sg-id"]
    assert requirements["availabilityZone"] == network.availability_zones[0]
    policy = json.loads(stack.named("aws:iam/rolePolicy:RolePolicy", "ingest-policy").inputs["policy"])
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    ec2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
    assert {f"{ec2}:subnet/private-0-id", f"{ec2}:security-group/glue-sg-id"} <= resources


def test_an_existing_network_that_meets_the_requirements_is_used_as_given(wheels: Path) -> None:
    stack = declare("dev", wheels, {"network": EXISTING, "dashboard": None})
    assert not stack.of_type("aws:ec2/vpc:Vpc") and not stack.of_type(ENDPOINT)
    requirements = stack.named(CONNECTION, "sqlserver-network").inputs["physicalConnectionRequirements"]
    assert (requirements["subnetId"], requirements["securityGroupIdLists"]) == (
        EXISTING_SUBNET,
        [EXISTING_GROUP],
    )


@pytest.mark.parametrize(
    ("vpc", "message"),
    [
        (ExistingVpc(subnet_zone="eu-west-1b"), f"bi:network.subnetId {EXISTING_SUBNET} is in eu-west-1b"),
        (
            ExistingVpc(group_vpc="vpc-0bbbbbbbbbbbbbbb2"),
            f"bi:network.securityGroupId {EXISTING_GROUP} is in vpc-0b",
        ),
        (ExistingVpc(group_rules=((False, None, "tcp", 443, 443),)), "has no inbound rule from itself"),
        (ExistingVpc(group_rules=((True, "self", "-1", -1, -1),)), "has no inbound rule from itself"),
        (ExistingVpc(s3_gateway=False), "has no S3 gateway endpoint"),
    ],
)
def test_an_existing_network_missing_a_requirement_is_one_line(
    wheels: Path, vpc: ExistingVpc, message: str
) -> None:
    with pytest.raises(UserError) as raised:
        declare("dev", wheels, {"network": EXISTING, "dashboard": None}, vpc)
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ({**EXISTING, "subnetId": "subnet-nope"}, "bi:network.existing.subnetId"),
        (
            {"mode": "create", "availabilityZones": ["eu-west-1a"], "sqlServerCidr": "10.0.0.5/32"},
            "availabilityZones",
        ),
        (
            {"mode": "create", "availabilityZones": ["a", "b"], "sqlServerCidr": "10.0.0.300/32"},
            "sqlServerCidr",
        ),
        ({"mode": "peering"}, "bi:network"),
    ],
)
def test_a_wrong_network_setting_is_one_line(wheels: Path, network: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError) as raised:
        declare("dev", wheels, {"network": network})
    assert message in str(raised.value) and str(raised.value).startswith("invalid stack config bi:network")
