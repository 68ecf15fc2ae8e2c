"""The Pulumi program run in-process under Pulumi's mocks: every resource it declares is recorded with
its resolved inputs, for each stack file in infra/ (no CLI, no provider plugin, no AWS)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from ruamel.yaml import YAML

from bi_infra import wheelhouse
from bi_infra.config import StackConfig, parse
from tests.s3.conftest import aws_lake, moto_endpoint  # noqa: F401 (moto's S3 and KMS, for the parity test)

INFRA = Path(__file__).resolve().parents[2] / "infra"
ACCOUNT, REGION = "123456789012", "eu-west-1"


@dataclass(frozen=True)
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    declared: list[Declared] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.declared.append(Declared(args.typ, args.name, dict(args.inputs), args.provider))
        outputs = dict(args.inputs)
        service = args.typ.split(":")[1].split("/")[0]
        if args.typ == "aws:s3/bucket:Bucket":
            outputs["arn"] = f"arn:aws:s3:::{args.inputs['bucket']}"
        elif args.typ == "aws:kms/key:Key":
            outputs |= {"keyId": "key-1234", "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/key-1234"}
        elif args.typ == "aws:iam/role:Role":
            outputs["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{args.inputs['name']}"
        else:
            outputs.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{args.name}")
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
                "userId": "deployer",
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        raise AssertionError(f"the program called {args.token}, which the tests do not mock")


@dataclass(frozen=True)
class Stack:
    config: StackConfig
    resources: list[Declared]

    def of_type(self, type_: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_]

    def named(self, type_: str, name: str) -> Declared:
        found = [r for r in self.of_type(type_) if r.name == name]
        assert len(found) == 1, f"{type_} {name}: {[r.name for r in self.of_type(type_)]}"
        return found[0]


def stack_config(stack: str, wheels: Path) -> StackConfig:
    """A stack file of infra/ as the program reads it (the `bi:` keys and `aws:region`)."""
    values = YAML(typ="safe").load((INFRA / f"Pulumi.{stack}.yaml").read_text())["config"]
    bi = {key.removeprefix("bi:"): value for key, value in values.items() if key.startswith("bi:")}
    return parse(stack, values["aws:region"], bi | {"wheelsDir": str(wheels)})


def declare(stack: str, wheels: Path) -> Stack:
    from bi_infra.stack import build

    config = stack_config(stack, wheels)
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="business-insights", stack=stack, preview=False)

    @pulumi.runtime.test  # type: ignore[misc]
    def program() -> None:
        build(config)

    program()
    return Stack(config, mocks.declared)


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
