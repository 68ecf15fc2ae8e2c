"""The CI and deploy workflows: valid GitHub Actions workflows that keep the project's release rules.

Each rule is read from the workflow files themselves (and from .ci/run, which the CI workflow runs), so
taking the line that honours a rule out of a workflow fails the test for that rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
PREVIEW = WORKFLOWS / "preview.yml"
CI_SCRIPT = Path(".ci/run")
ENVIRONMENTS = ("dev", "prod")
INFRA = "infra"

Mapping = dict[str, Any]
Words = list[str]


# --- reading the workflows -------------------------------------------------------------------------


def load(path: Path) -> Mapping:
    # YAML 1.2, as the workflow runner reads it: the key `on` stays a string (YAML 1.1 makes it True).
    loaded = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{path.name} is not a mapping"
    return loaded


def workflow_schema() -> Mapping:
    vendored = files("check_jsonschema.builtin_schemas.vendor").joinpath("github-workflows.json")
    schema = json.loads(vendored.read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


def job(workflow: Mapping, name: str) -> Mapping:
    jobs = workflow.get("jobs", {})
    assert name in jobs, f"no job {name!r}; jobs are {sorted(jobs)}"
    found = jobs[name]
    assert isinstance(found, dict)
    return found


def triggers(workflow: Mapping) -> Mapping:
    on = workflow.get("on")
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict), f"unexpected `on`: {on!r}"
    return on


def steps(of: Mapping) -> list[Mapping]:
    found = of.get("steps", [])
    assert isinstance(found, list)
    return found


def script_lines(text: str) -> list[Words]:
    """A shell script's commands as words, one per non-blank, non-comment line."""
    lines = (line.strip() for line in text.splitlines())
    return [line.split() for line in lines if line and not line.startswith("#")]


def runs_ci_script(words: Words) -> bool:
    return bool(words) and Path(words[-1]) == CI_SCRIPT and words[:-1] in ([], ["bash"])


def make_recipe(target: str) -> list[Words]:
    """The commands of a Makefile target: its tab-indented lines, up to the next target."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    starts_at = [i for i, line in enumerate(lines) if line.startswith(f"{target}:")]
    assert starts_at, f"the Makefile has no target {target}"
    recipe: list[Words] = []
    for line in lines[starts_at[0] + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().split())
    return recipe


def expanded(words: Words) -> list[Words]:
    """A command as the lines it runs: .ci/run as the script's own lines, `make T` as T's recipe."""
    if runs_ci_script(words):
        return [each for line in script_lines((ROOT / CI_SCRIPT).read_text(encoding="utf-8"))
                for each in expanded(line)]  # fmt: skip
    if words[:1] == ["make"] and len(words) == 2:
        return [each for line in make_recipe(words[1]) for each in expanded(line)]
    return [words]


def step_commands(step: Mapping) -> list[Words]:
    """What one step runs, with .ci/run and make targets read through to their commands."""
    return [each for words in script_lines(str(step.get("run", ""))) for each in expanded(words)]


def commands(of: Mapping) -> list[Words]:
    return [words for step in steps(of) for words in step_commands(step)]


def starts(words: Words, *prefix: str) -> bool:
    return words[: len(prefix)] == list(prefix)


def first_step(of: Mapping, matches: Callable[[Mapping], bool], what: str) -> int:
    for index, step in enumerate(steps(of)):
        if matches(step):
            return index
    raise AssertionError(f"no step {what}")


def running(*prefix: str) -> Callable[[Mapping], bool]:
    return lambda step: any(starts(words, *prefix) for words in step_commands(step))


def using(action: str) -> Callable[[Mapping], bool]:
    return lambda step: str(step.get("uses", "")).startswith(f"{action}@")


def option(words: Words, *names: str) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(f"{name}="):
                return word.split("=", 1)[1]
    return None


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def environment_name(of: Mapping) -> object:
    environment = of.get("environment")
    return environment.get("name") if isinstance(environment, dict) else environment


# --- the schema -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CI, DEPLOY, PREVIEW], ids=lambda path: path.name)
def test_workflow_matches_the_github_workflow_schema(path: Path) -> None:
    schema = workflow_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(load(path)), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors)


def test_the_schema_rejects_what_github_would() -> None:
    schema = workflow_schema()
    broken = load(DEPLOY)
    broken["jobs"]["prod"]["runs-on"] = None
    broken["jobs"]["prod"]["timeout"] = 45
    assert not jsonschema.validators.validator_for(schema)(schema).is_valid(broken)


# --- CI on pull requests ----------------------------------------------------------------------------


def test_ci_runs_on_pull_requests() -> None:
    assert "pull_request" in triggers(load(CI))


def test_ci_lints_checks_formatting_type_checks_and_runs_every_test() -> None:
    ci = load(CI)
    run = [words for name in ci["jobs"] for words in commands(job(ci, name))]
    assert any(starts(words, "uv", "sync", "--frozen") for words in run), "the locked workspace is not synced"
    assert any(starts(words, "uv", "run", "ruff", "check") for words in run), "no lint"
    assert any(starts(words, "uv", "run", "ruff", "format", "--check") for words in run), "no format check"
    assert any(starts(words, "uv", "run", "mypy") for words in run), "no type check"
    # The whole suite: options only, no path or -k/-m expression narrowing it.
    pytest_runs = [words[3:] for words in run if starts(words, "uv", "run", "pytest")]
    assert any(all(arg.startswith("-") for arg in args) for args in pytest_runs), (
        f"no full test run: {pytest_runs}"
    )


def test_ci_failures_fail_the_run() -> None:
    ci = load(CI)
    for name in ci["jobs"]:
        assert not job(ci, name).get("continue-on-error"), name
        for step in steps(job(ci, name)):
            assert not step.get("continue-on-error"), step


def test_ci_sets_up_java_17_before_the_tests() -> None:
    check = job(load(CI), "check")
    java = first_step(check, using("actions/setup-java"), "setting up Java")
    assert str(steps(check)[java]["with"]["java-version"]) == "17"
    assert java < first_step(check, running("uv", "run", "pytest"), "running pytest")


def test_ci_builds_every_package_wheel_and_keeps_them() -> None:
    check = job(load(CI), "check")
    builds = [words for words in commands(check) if starts(words, "uv", "build")]
    assert any("--all-packages" in words and option(words, "-o", "--out-dir") == "dist" for words in builds)
    upload = steps(check)[first_step(check, using("actions/upload-artifact"), "uploading the wheels")]
    assert str(upload["with"]["path"]).startswith("dist/")


def test_a_newer_push_cancels_the_pull_requests_older_ci_run() -> None:
    concurrency = load(CI)["concurrency"]
    assert concurrency["cancel-in-progress"] is True
    assert "pull_request.number" in concurrency["group"]


# --- deploy: least privilege, OIDC, no keys ------------------------------------------------------


@pytest.mark.parametrize("path", [CI, DEPLOY, PREVIEW], ids=lambda path: path.name)
def test_workflows_grant_only_read_access_by_default(path: Path) -> None:
    assert load(path)["permissions"] == {"contents": "read"}


@pytest.mark.parametrize(
    ("name", "role"),
    [*((e, "AWS_DEPLOY_ROLE_ARN") for e in ENVIRONMENTS), ("prod-plan", "AWS_PREVIEW_ROLE_ARN")],
)
def test_deploy_authenticates_to_aws_with_oidc(name: str, role: str) -> None:
    deploy = job(load(DEPLOY), name)
    assert deploy["permissions"] == {"id-token": "write", "contents": "read"}
    aws = first_step(deploy, using("aws-actions/configure-aws-credentials"), "configuring AWS credentials")
    settings = steps(deploy)[aws]["with"]
    assert settings["role-to-assume"] == f"${{{{ vars.{role} }}}}"
    assert settings["aws-region"] == "${{ vars.AWS_REGION }}"
    assert aws < first_step(deploy, using("pulumi/actions"), "running pulumi")


def test_no_workflow_holds_stored_aws_keys() -> None:
    found = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {CI, DEPLOY} <= set(found)
    for path in found:
        text = path.read_text(encoding="utf-8").upper().replace("-", "_")
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            assert name not in text, f"{path.name} mentions {name}"


# --- deploy: build once, dev, then prod -----------------------------------------------------------


def test_deploy_runs_on_pushes_to_main() -> None:
    assert triggers(load(DEPLOY))["push"]["branches"] == ["main"]


def pulumi_step(of: Mapping) -> Mapping:
    """The one step that runs a pulumi command (through its action, whose CLI version the repository
    pins); an action step without a command only installs the CLI."""
    found = [step for step in steps(of) if using("pulumi/actions")(step) and "command" in step["with"]]
    assert len(found) == 1, found
    settings = found[0]["with"]
    assert isinstance(settings, dict)
    return settings


def pulumi_installs(of: Mapping) -> list[Mapping]:
    return [step["with"] for step in steps(of) if using("pulumi/actions")(step)]


def test_the_environments_deploy_the_wheelhouse_built_once() -> None:
    deploy = load(DEPLOY)
    build = job(deploy, "build")
    assert any(
        "bi_infra.wheelhouse" in words and option(words, "--out") == "dist/glue" for words in commands(build)
    )
    assert not any(starts(words, "uv", "build") for words in commands(build)), (
        "the wheelhouse builds the wheels"
    )
    upload = steps(build)[first_step(build, using("actions/upload-artifact"), "uploading the wheels")]["with"]
    assert str(upload["path"]).rstrip("/") == "dist/glue"
    for name in (*ENVIRONMENTS, "prod-plan"):
        target = job(deploy, name)
        downloads = [
            (i, s["with"]) for i, s in enumerate(steps(target)) if using("actions/download-artifact")(s)
        ]
        index, download = next((i, w) for i, w in downloads if w["name"] == upload["name"])
        assert download["path"] == "dist/glue"
        assert index < first_step(target, using("pulumi/actions"), "running pulumi")


def test_prod_is_planned_before_its_approval_and_deploys_exactly_that_plan() -> None:
    deploy = load(DEPLOY)
    assert "build" in as_list(job(deploy, "dev")["needs"])
    assert "dev" in as_list(job(deploy, "prod-plan")["needs"])
    assert "prod-plan" in as_list(job(deploy, "prod")["needs"])
    assert environment_name(job(deploy, "dev")) == "dev"
    assert environment_name(job(deploy, "prod")) == "prod"
    # The plan is computed outside the protected environment, before anyone approves.
    assert environment_name(job(deploy, "prod-plan")) not in ("prod", None)
    plan = pulumi_step(job(deploy, "prod-plan"))
    assert (plan["command"], plan["stack-name"]) == ("preview", "prod")
    assert plan["comment-on-summary"] is True, "the approver reads the diff in the run's summary"
    planned = job(deploy, "prod-plan")
    upload = steps(planned)[first_step(planned, using("actions/upload-artifact"), "keeping the plan")]["with"]
    assert upload["path"] == f"{plan['work-dir']}/{plan['plan']}"
    prod = job(deploy, "prod")
    apply = pulumi_step(prod)
    assert (apply["command"], apply["stack-name"], apply["plan"]) == ("up", "prod", plan["plan"])
    downloads = [s["with"] for s in steps(prod) if using("actions/download-artifact")(s)]
    assert {"name": upload["name"], "path": apply["work-dir"]} in downloads


@pytest.mark.parametrize(("name", "stack"), [("dev", "dev"), ("prod-plan", "prod"), ("prod", "prod")])
def test_each_job_works_on_its_own_stack_and_creates_it_when_missing(name: str, stack: str) -> None:
    settings = pulumi_step(job(load(DEPLOY), name))
    assert settings["stack-name"] == stack and settings["work-dir"] == INFRA
    # prod applies a plan, which exists only for a stack the plan job found or created.
    assert settings.get("upsert", False) is (name != "prod")


def test_pull_requests_preview_dev_and_post_the_diff_on_the_pull_request() -> None:
    preview = load(PREVIEW)
    assert "pull_request" in triggers(preview)
    dev = job(preview, "dev")
    assert dev["permissions"] == {"id-token": "write", "contents": "read", "pull-requests": "write"}
    aws = steps(dev)[first_step(dev, using("aws-actions/configure-aws-credentials"), "configuring AWS")]
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    settings = pulumi_step(dev)
    assert (settings["command"], settings["stack-name"], settings["work-dir"]) == ("preview", "dev", INFRA)
    assert settings["comment-on-pr"] is True and settings["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    assert "head.repo.full_name == github.repository" in dev["if"], "a fork's pull request has no token"


@pytest.mark.parametrize("path", [DEPLOY, PREVIEW], ids=lambda path: path.name)
def test_the_pulumi_cli_is_the_sdks_version_everywhere(path: Path) -> None:
    locked = re.search(r'name = "pulumi"\nversion = "([^"]+)"', (ROOT / "uv.lock").read_text())
    assert locked is not None
    assert (ROOT / ".pulumi-version").read_text().strip() == locked.group(1)
    for name, of in load(path)["jobs"].items():
        for settings in pulumi_installs(of):
            assert settings["pulumi-version-file"] == ".pulumi-version", name


@pytest.mark.parametrize("path", [CI, DEPLOY, PREVIEW], ids=lambda path: path.name)
def test_every_third_party_action_is_pinned_to_a_commit(path: Path) -> None:
    for name, of in load(path)["jobs"].items():
        for step in steps(of):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), (name, step["uses"])


@pytest.mark.parametrize("name", [*ENVIRONMENTS, "prod-plan"])
def test_each_job_reads_its_state_backend_and_passphrase_from_its_settings(name: str) -> None:
    deploy = job(load(DEPLOY), name)
    assert deploy["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert deploy["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    assert pulumi_step(deploy)["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_two_deploys_of_one_environment_never_overlap(environment: str) -> None:
    concurrency = job(load(DEPLOY), environment)["concurrency"]
    assert concurrency["cancel-in-progress"] is False
    assert environment in concurrency["group"]
    assert "github.run" not in concurrency["group"], "a group per run serialises nothing"
    others = {
        job(load(DEPLOY), other)["concurrency"]["group"] for other in ENVIRONMENTS if other != environment
    }
    assert concurrency["group"] not in others


# --- the dashboard's image --------------------------------------------------------------------------

SHIP = ".github/scripts/ship-dashboard-image.sh"
SET_IMAGE = ".github/scripts/set-dashboard-image.sh"
DOCKERFILE = "apps/dashboard/Dockerfile"


def test_the_dashboard_image_is_built_once_per_commit_tagged_with_it_and_kept_for_the_deployments() -> None:
    deploy = load(DEPLOY)
    image = job(deploy, "image")
    assert image["if"] == "github.ref == 'refs/heads/main'"
    builds = [w for w in commands(image) if starts(w, "docker", "build")]
    assert len(builds) == 1
    assert option(builds[0], "--file") == DOCKERFILE and builds[0][-1] == "."
    assert option(builds[0], "--tag") == '"bi-dashboard:${GITHUB_SHA}"'
    upload = steps(image)[first_step(image, using("actions/upload-artifact"), "keeping the image")]["with"]
    for name in ENVIRONMENTS:
        downloads = [s["with"] for s in steps(job(deploy, name)) if using("actions/download-artifact")(s)]
        assert upload["name"] in [d["name"] for d in downloads], name
    assert "image" in as_list(job(deploy, "dev")["needs"])
    assert deploy["env"]["DASHBOARD_IMAGE_TAG"] == "${{ inputs.dashboard_image_tag || github.sha }}"
    assert "dashboard_image_tag" in triggers(deploy)["workflow_dispatch"]["inputs"], "the rollback"


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_each_environment_pushes_the_image_and_runs_its_tag_before_and_after_its_update(stack: str) -> None:
    target = job(load(DEPLOY), stack)
    update = first_step(target, lambda s: using("pulumi/actions")(s) and "command" in s["with"], "updating")
    install = first_step(target, using("pulumi/actions"), "installing the CLI")
    ship = [i for i, s in enumerate(steps(target)) if running(SHIP)(s)]
    tag = first_step(target, running(SET_IMAGE), "setting the image")
    assert install < ship[0] < tag < update < ship[-1], "pushed when it can be, named before the update"
    for index in [*ship, tag]:
        words = step_commands(steps(target)[index])[0]
        assert words[1:3] == [stack, '"$DASHBOARD_IMAGE_TAG"']


def test_the_prod_plan_runs_the_image_prod_deploys() -> None:
    planned = job(load(DEPLOY), "prod-plan")
    tag = first_step(planned, running(SET_IMAGE), "setting the image")
    assert tag < first_step(planned, lambda s: using("pulumi/actions")(s) and "command" in s["with"], "plan")
    assert not any(running(SHIP)(s) for s in steps(planned)), "the read-only role pushes nothing"


def test_pull_requests_build_the_dashboard_image_without_pushing_it() -> None:
    ci = load(CI)
    image = job(ci, "image")
    builds = [w for w in commands(image) if starts(w, "docker", "build")]
    assert len(builds) == 1 and option(builds[0], "--file") == DOCKERFILE
    everything = " ".join(" ".join(w) for w in commands(image))
    assert "docker push" not in everything and "ecr" not in everything
    assert "permissions" not in image or image["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("script", [SHIP, SET_IMAGE])
def test_the_image_scripts_are_valid_bash_and_stop_on_errors(script: str) -> None:
    import subprocess

    text = (ROOT / script).read_text()
    assert "set -euo pipefail" in text
    assert subprocess.run(["bash", "-n", str(ROOT / script)], check=False).returncode == 0
    assert (ROOT / script).stat().st_mode & 0o111, "executable"
