"""The Pulumi program run in-process under Pulumi's mocks: every resource it declares is recorded with
its resolved inputs, for each stack file in infra/ (no CLI, no provider plugin, no AWS)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest

from bi_infra import wheelhouse
from bi_infra.config import StackConfig, load_stack_file
from tests.s3.conftest import aws_lake, moto_endpoint  # noqa: F401 (moto's S3 and KMS, for the parity test)

INFRA = Path(__file__).resolve().parents[2] / "infra"
EXISTING_SUBNET, EXISTING_GROUP = "subnet-0aaaaaaaaaaaaaaa1", "sg-0aaaaaaaaaaaaaaa1"
ACCOUNT, REGION = "123456789012", "eu-west-1"
# What Secrets Manager answers for the OIDC client secret of a dashboard stack.
OIDC_CLIENT_SECRET = "client-secret-from-secrets-manager"


@dataclass(frozen=True)
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None


@dataclass(frozen=True)
class ExistingVpc:
    """What the AWS look-ups answer about a network the stack does not create."""

    subnet_zone: str = "eu-west-1a"
    subnet_vpc: str = "vpc-0aaaaaaaaaaaaaaa1"
    group_vpc: str = "vpc-0aaaaaaaaaaaaaaa1"
    # (is_egress, referenced group or None, protocol, from, to)
    group_rules: tuple[tuple[bool, str | None, str, int, int], ...] = ((False, "self", "-1", -1, -1),)
    s3_gateway: bool = True
    # The dashboard image the stack's service runs in AWS now (None: no task definition yet).
    running_image: str | None = None


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    declared: list[Declared] = field(default_factory=list)
    vpc: ExistingVpc = field(default_factory=ExistingVpc)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.declared.append(Declared(args.typ, args.name, dict(args.inputs), args.provider))
        outputs = dict(args.inputs)
        service = args.typ.split(":")[1].split("/")[0]
        if args.typ == "aws:s3/bucket:Bucket":
            outputs["arn"] = f"arn:aws:s3:::{args.inputs['bucket']}"
        elif args.typ == "aws:kms/key:Key":
            outputs |= {"keyId": "key-1234", "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/key-1234"}
        elif args.typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            outputs["prefixListId"] = f"pl-{args.name}"
        elif args.typ == "aws:iam/role:Role":
            outputs["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{args.inputs['name']}"
        elif args.typ == "aws:lb/loadBalancer:LoadBalancer":
            outputs |= {
                "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/{args.inputs['name']}/1",
                "dnsName": f"{args.inputs['name']}-1.{REGION}.elb.amazonaws.com",
            }
        elif args.typ == "aws:ecr/repository:Repository":
            outputs["repositoryUrl"] = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{args.inputs['name']}"
        elif args.typ == "aws:ec2/eip:Eip":
            outputs["allocationId"] = f"eipalloc-{args.name}"
        else:
            outputs.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{args.name}")
        return f"{args.name}-id", outputs

    # pulumi's mock monitor accepts a bare dict (an answer without failures); its annotation of call
    # leaves that out.
    def call(  # type: ignore[override]
        self, args: pulumi.runtime.MockCallArgs
    ) -> dict[str, Any] | tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
                "userId": "deployer",
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return {
                "id": args.args["id"],
                "availabilityZone": self.vpc.subnet_zone,
                "vpcId": self.vpc.subnet_vpc,
            }
        if args.token == "aws:ec2/getSecurityGroup:getSecurityGroup":
            return {"id": args.args["id"], "vpcId": self.vpc.group_vpc, "name": "glue", "arn": "arn"}
        if args.token == "aws:vpc/getSecurityGroupRules:getSecurityGroupRules":
            return {"id": "rules", "ids": [f"sgr-{n}" for n in range(len(self.vpc.group_rules))]}
        if args.token == "aws:vpc/getSecurityGroupRule:getSecurityGroupRule":
            egress, referenced, protocol, low, high = self.vpc.group_rules[
                int(args.args["securityGroupRuleId"][4:])
            ]
            group = args.args["securityGroupRuleId"]
            return {
                "id": group, "isEgress": egress, "ipProtocol": protocol, "fromPort": low, "toPort": high,
                "referencedSecurityGroupId": EXISTING_GROUP if referenced == "self" else referenced or "",
            }  # fmt: skip
        if args.token == "aws:ec2/getVpcEndpoint:getVpcEndpoint":
            if not self.vpc.s3_gateway:
                # As the provider answers a look-up that matches nothing: a failed invoke.
                return {}, [("vpcId", "no matching EC2 VPC Endpoint found")]
            return {"id": "vpce-0s3", "vpcId": args.args["vpcId"], "serviceName": args.args["serviceName"]}
        if args.token == "aws:ecs/getTaskDefinition:getTaskDefinition":
            if self.vpc.running_image is None:
                return {}, [("taskDefinition", "ClientException: Unable to describe task definition.")]
            containers = [{"name": "dashboard", "image": self.vpc.running_image}]
            return {"id": args.args["taskDefinition"], "containerDefinitions": json.dumps(containers)}
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            secret = args.args["secretId"]
            return {"id": secret, "arn": secret, "secretId": secret, "secretString": OIDC_CLIENT_SECRET}
        raise AssertionError(f"the program called {args.token}, which the tests do not mock")


@dataclass(frozen=True)
class Stack:
    config: StackConfig
    resources: list[Declared]
    # The names of the resources declared with `protect` (the mocks do not see resource options).
    protected: set[str] = field(default_factory=set)
    # The names of the resources declared with `retain_on_delete` (kept in AWS when dropped from the program).
    retained: set[str] = field(default_factory=set)
    # The properties each resource declared with `ignore_changes` leaves to whatever else sets them.
    ignored: dict[str, list[str]] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_]

    def named(self, type_: str, name: str) -> Declared:
        found = [r for r in self.of_type(type_) if r.name == name]
        assert len(found) == 1, f"{type_} {name}: {[r.name for r in self.of_type(type_)]}"
        return found[0]


def stack_config(stack: str, wheels: Path, overrides: dict[str, Any] | None = None) -> StackConfig:
    """A stack file of infra/ as the program reads it, with the test's wheelhouse."""
    return load_stack_file(stack, {"wheelsDir": str(wheels), **(overrides or {})})


_RUNNING: list[object] = []


def declare(
    stack: str, wheels: Path, overrides: dict[str, Any] | None = None, vpc: ExistingVpc | None = None
) -> Stack:
    """The program run under mocks on a stack file (with `bi:` settings replaced by `overrides`)."""
    from bi_infra.stack import build

    config = stack_config(stack, wheels, overrides)
    mocks = RecordingMocks(vpc=vpc or ExistingVpc())
    pulumi.runtime.set_mocks(mocks, project="business-insights", stack=stack, preview=False)

    protected: set[str] = set()
    retained: set[str] = set()
    ignored: dict[str, list[str]] = {}

    # Transformations stay registered for the session, and several runs share a stack's name: each
    # records only while its own run is the one running.
    run = object()
    _RUNNING[:] = [run]

    def record_options(args: pulumi.ResourceTransformationArgs) -> None:
        if run not in _RUNNING:
            return
        if args.opts.protect:
            protected.add(args.name)
        if args.opts.retain_on_delete:
            retained.add(args.name)
        if args.opts.ignore_changes:
            ignored[args.name] = list(args.opts.ignore_changes)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # pulumi leaves its decorator unannotated
    def program() -> None:
        pulumi.runtime.register_stack_transformation(record_options)
        build(config)

    program()
    return Stack(config, mocks.declared, protected, retained, ignored)


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every job's zip of wheels, as the deployment builds them before `pulumi up` (from uv.lock; the
    third-party wheels come from PyPI, or pip's cache)."""
    out = tmp_path_factory.mktemp("glue")
    wheelhouse.build(out)
    return out


@pytest.fixture(scope="session")
def dev(wheels: Path) -> Stack:
    return declare("dev", wheels)


@pytest.fixture(scope="session")
def prod(wheels: Path) -> Stack:
    return declare("prod", wheels)
