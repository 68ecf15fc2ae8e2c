"""The deploy workflow's image scripts, run by bash against stand-ins for the pulumi, aws and docker
commands (each records its arguments and answers as the stack, the registry and the engine would)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIP = ROOT / ".github/scripts/ship-dashboard-image.sh"
SET_IMAGE = ROOT / ".github/scripts/set-dashboard-image.sh"
SHA = "3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
URI = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme-bi-dev-dashboard"

# Each stand-in logs its arguments, then answers from the state files the test writes.
STAND_INS = {
    "pulumi": """
case "$*" in
  *"stack select"*) exit 0 ;;
  *"config get --path bi:dashboard.certificateArn"*) cat "$STATE/certificate" 2>/dev/null || exit 1 ;;
  *"config get bi:namePrefix"*) echo acme-bi ;;
  *"config set"*) exit 0 ;;
esac
""",
    "aws": """
case "$*" in
  *"describe-repositories"*)
    if [ -f "$STATE/denied" ]; then echo "An error occurred (AccessDeniedException)" >&2; exit 254; fi
    if [ -f "$STATE/repository" ]; then cat "$STATE/repository"; exit 0; fi
    echo "An error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation" >&2
    exit 254 ;;
  *"describe-images"*)
    args="$*"; grep -qx "${args##*imageTag=}" "$STATE/images" && exit 0
    echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation" >&2
    exit 254 ;;
  *"get-login-password"*) echo token ;;
esac
""",
    "docker": "cat > /dev/null || true\n",
}


@dataclass
class Run:
    code: int
    out: str
    calls: list[str]


def run(script: Path, tmp_path: Path, *args: str, certificate: bool = True, repository: bool = True,
        images: tuple[str, ...] = (), denied: bool = False) -> Run:  # fmt: skip
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    for name, body in STAND_INS.items():
        stand_in = bin_dir / name
        stand_in.write_text(f'#!/usr/bin/env bash\necho "{name} $*" >> "$STATE/calls"\n{body}')
        stand_in.chmod(0o755)
    if certificate:
        (state / "certificate").write_text("arn:aws:acm:eu-west-1:111111111111:certificate/abc\n")
    if repository:
        (state / "repository").write_text(URI)
    (state / "images").write_text("".join(f"{image}\n" for image in images))
    if denied:
        (state / "denied").write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STATE": str(state), "GITHUB_SHA": SHA}
    result = subprocess.run(["bash", str(script), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                            check=False)  # fmt: skip
    calls = (state / "calls").read_text().splitlines() if (state / "calls").exists() else []
    return Run(result.returncode, result.stdout + result.stderr, calls)


def pushes(calls: list[str]) -> list[str]:
    return [call for call in calls if call.startswith("docker push")]


def test_this_commits_image_is_pushed_with_its_tag(tmp_path: Path) -> None:
    shipped = run(SHIP, tmp_path, "dev", SHA, "image.tar.gz")
    assert shipped.code == 0, shipped.out
    assert pushes(shipped.calls) == [f"docker push {URI}:{SHA}"]
    assert "docker load --input image.tar.gz" in shipped.calls
    assert f"docker tag bi-dashboard:{SHA} {URI}:{SHA}" in shipped.calls


def test_an_image_already_pushed_is_not_pushed_again(tmp_path: Path) -> None:
    shipped = run(SHIP, tmp_path, "dev", SHA, "image.tar.gz", images=(SHA,))
    assert shipped.code == 0 and not pushes(shipped.calls)
    assert "already in the repository" in shipped.out


def test_before_the_first_update_there_is_no_repository_to_push_to(tmp_path: Path) -> None:
    shipped = run(SHIP, tmp_path, "dev", SHA, "image.tar.gz", repository=False)
    assert shipped.code == 0 and not pushes(shipped.calls)
    assert "does not exist yet" in shipped.out


def test_a_stack_without_a_dashboard_ships_and_sets_nothing(tmp_path: Path) -> None:
    shipped = run(SHIP, tmp_path, "prod", SHA, "image.tar.gz", certificate=False)
    assert shipped.code == 0 and not any(c.startswith(("docker", "aws")) for c in shipped.calls)
    named = run(SET_IMAGE, tmp_path, "prod", SHA, certificate=False)
    assert named.code == 0 and not any("config set" in c for c in named.calls)


def test_a_rollback_deploys_an_earlier_image_without_pushing_this_one(tmp_path: Path) -> None:
    earlier = "0" * 40
    shipped = run(SHIP, tmp_path, "dev", earlier, "image.tar.gz", images=(earlier, SHA))
    assert shipped.code == 0 and not pushes(shipped.calls)


def test_a_rollback_to_an_image_the_repository_no_longer_keeps_fails(tmp_path: Path) -> None:
    shipped = run(SHIP, tmp_path, "dev", "0" * 40, "image.tar.gz", images=(SHA,))
    assert shipped.code == 1 and not pushes(shipped.calls)
    assert f"{URI}:{'0' * 40} is not in the repository" in shipped.out


def test_the_stack_is_told_which_image_to_run(tmp_path: Path) -> None:
    named = run(SET_IMAGE, tmp_path, "dev", SHA)
    assert named.code == 0, named.out
    assert f"pulumi -C infra config set --path bi:dashboard.imageTag {SHA} --stack dev" in named.calls


@pytest.mark.parametrize("script", [SHIP, SET_IMAGE])
def test_missing_arguments_stop_the_script(script: Path, tmp_path: Path) -> None:
    assert run(script, tmp_path).code != 0


def test_a_registry_that_refuses_the_look_up_stops_the_deployment(tmp_path: Path) -> None:
    for script, args in ((SHIP, ("dev", SHA, "image.tar.gz")), (SET_IMAGE, ("dev", SHA))):
        refused = run(script, tmp_path, *args, denied=True)
        assert refused.code == 1 and "AccessDeniedException" in refused.out, refused.out
        assert not pushes(refused.calls) and not any("config set" in c for c in refused.calls)


def test_on_a_stacks_first_deployment_no_image_is_named_before_its_repository_exists(tmp_path: Path) -> None:
    named = run(SET_IMAGE, tmp_path, "dev", SHA, repository=False)
    assert named.code == 0 and not any("config set" in c for c in named.calls)
    assert "runs no dashboard image until the next deployment" in named.out
