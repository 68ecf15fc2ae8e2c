"""The CI and deploy workflows: valid GitHub Actions workflows that keep the project's release rules.

Each rule is read from the workflow files themselves (and from .ci/run, which the CI workflow runs), so
taking the line that honours a rule out of a workflow fails the test for that rule.
"""

from __future__ import annotations

import json
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


def step_commands(step: Mapping) -> list[Words]:
    """What one step runs; a step running .ci/run runs the script's own lines."""
    commands: list[Words] = []
    for words in script_lines(str(step.get("run", ""))):
        if runs_ci_script(words):
            commands.extend(script_lines((ROOT / CI_SCRIPT).read_text(encoding="utf-8")))
        else:
            commands.append(words)
    return commands


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


@pytest.mark.parametrize("path", [CI, DEPLOY], ids=lambda path: path.name)
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


@pytest.mark.parametrize("path", [CI, DEPLOY], ids=lambda path: path.name)
def test_workflows_grant_only_read_access_by_default(path: Path) -> None:
    assert load(path)["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_deploy_authenticates_to_aws_with_oidc(environment: str) -> None:
    deploy = job(load(DEPLOY), environment)
    assert deploy["permissions"] == {"id-token": "write", "contents": "read"}
    aws = first_step(deploy, using("aws-actions/configure-aws-credentials"), "configuring AWS credentials")
    settings = steps(deploy)[aws]["with"]
    assert settings["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert settings["aws-region"] == "${{ vars.AWS_REGION }}"
    assert aws < first_step(deploy, running("pulumi", "login"), "logging in to the state backend")


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
    for environment in ENVIRONMENTS:
        target = job(deploy, environment)
        index = first_step(target, using("actions/download-artifact"), "downloading the wheels")
        download = steps(target)[index]["with"]
        assert download["name"] == upload["name"]
        assert download["path"] == "dist/glue"
        assert index < first_step(target, running("pulumi", "up"), "running pulumi up")


def test_prod_waits_for_dev_and_deploys_to_the_protected_prod_environment() -> None:
    deploy = load(DEPLOY)
    assert "build" in as_list(job(deploy, "dev")["needs"])
    assert "dev" in as_list(job(deploy, "prod")["needs"])
    assert environment_name(job(deploy, "dev")) == "dev"
    assert environment_name(job(deploy, "prod")) == "prod"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_selects_its_own_stack(environment: str) -> None:
    pulumi = [words for words in commands(job(load(DEPLOY), environment)) if starts(words, "pulumi")]
    selects = [words for words in pulumi if starts(words, "pulumi", "stack", "select")]
    assert len(selects) == 1, selects
    args = selects[0][3:]
    named = option(args, "--stack", "-s")
    valued = ("--cwd", "-C", "--stack", "-s")
    positional = [
        a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in valued)
    ]
    assert ([named] if named else positional[:1]) == [environment]
    assert option(selects[0], "--cwd", "-C") == INFRA
    # No later command points at another environment's stack.
    for words in pulumi:
        assert option(words, "--stack", "-s") in (None, environment), words


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_previews_before_it_deploys(environment: str) -> None:
    run = [words for words in commands(job(load(DEPLOY), environment)) if starts(words, "pulumi")]

    def position(*prefix: str) -> int:
        found = [index for index, words in enumerate(run) if starts(words, *prefix)]
        assert found, f"{environment} never runs {' '.join(prefix)}"
        return found[0]

    login, select = position("pulumi", "login"), position("pulumi", "stack", "select")
    preview, up = position("pulumi", "preview"), position("pulumi", "up")
    assert login < select < preview < up
    assert "--yes" in run[up]
    assert option(run[preview], "--cwd", "-C") == INFRA
    assert option(run[up], "--cwd", "-C") == INFRA


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_reads_its_state_backend_and_passphrase_from_its_settings(environment: str) -> None:
    deploy = job(load(DEPLOY), environment)
    assert deploy["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert deploy["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    logins = [words for words in commands(deploy) if starts(words, "pulumi", "login")]
    assert logins == [["pulumi", "login", '"$PULUMI_BACKEND_URL"']]


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
