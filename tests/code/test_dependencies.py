"""Each workspace member stands on its own: it imports only what its own pyproject.toml declares, and
declares only what it uses. This is also the layering, written down once: a package may import another
of the workspace only when it depends on it (transform and metrics on the contracts, never on each
other; the dashboard and `bi query` never on transform, so never on Spark)."""

from __future__ import annotations

import ast
import functools
import sys
import tomllib
from collections.abc import Mapping
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = sorted(
    path.parent
    for pattern in ("packages/*/pyproject.toml", "apps/*/pyproject.toml", "infra/pyproject.toml")
    for path in ROOT.glob(pattern)
)

# Declared without an import of their own, each for a reason.
USED_WITHOUT_IMPORT = {
    # SQLAlchemy's mssql+pymssql dialect imports the driver when a SQL Server source is named.
    "bi-ingest": {"pymssql"},
    # DuckDB loads its extensions from these wheels' files: nothing is downloaded at run time.
    "bi-metrics": {"duckdb-ext-avro", "duckdb-ext-httpfs", "duckdb-ext-iceberg"},
    # pandera's PySpark checks import pandas, which pandera declares only as an extra; PySpark 3.5
    # needs pandas below 3.
    "bi-transform": {"pandas"},
}


def _project(member: Path) -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((member / "pyproject.toml").read_text())["project"]
    return project


def _extras(member: Path) -> dict[str, list[str]]:
    extras: dict[str, list[str]] = _project(member).get("optional-dependencies", {})  # type: ignore[assignment]
    return extras


def _requirements(member: Path) -> list[Requirement]:
    texts: list[str] = _project(member).get("dependencies", [])  # type: ignore[assignment]
    extras = [text for group in _extras(member).values() for text in group]
    return [Requirement(text) for text in [*texts, *extras]]


def declared(member: Path) -> set[str]:
    """The distributions a member may import: its requirements, and those of a workspace member's
    extra it asks for (bi-lake[iceberg] brings pyiceberg to its readers and writers)."""
    extras_of = {canonicalize_name(str(_project(other)["name"])): _extras(other) for other in MEMBERS}
    names: set[str] = set()
    for requirement in _requirements(member):
        names.add(canonicalize_name(requirement.name))
        for extra in requirement.extras:
            for text in extras_of.get(canonicalize_name(requirement.name), {}).get(extra, []):
                names.add(canonicalize_name(Requirement(text).name))
    return names


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imported_modules(source: str) -> set[str]:
    """The top-level modules a file imports at run time (not under `if TYPE_CHECKING:`, whose stubs are
    the development tools'), standard library and relative imports left out."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return {name for name in found if name not in sys.stdlib_module_names and name != "__future__"}


@functools.cache
def _module_distributions() -> Mapping[str, list[str]]:
    return packages_distributions()


def distributions(module: str) -> set[str]:
    if module.startswith("bi_"):
        return {canonicalize_name(module)}
    return {canonicalize_name(name) for name in _module_distributions().get(module, [module])}


def used(member: Path) -> dict[str, set[str]]:
    """Per distribution a member's code imports, the files that import it."""
    files: dict[str, set[str]] = {}
    for path in sorted((member / "src").rglob("*.py")):
        for module in imported_modules(path.read_text()):
            for name in distributions(module):
                files.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return files


@pytest.mark.parametrize("member", MEMBERS, ids=lambda member: str(member.relative_to(ROOT)))
def test_a_member_imports_only_what_it_declares(member: Path) -> None:
    own = canonicalize_name(str(_project(member)["name"]))
    allowed = declared(member) | {own}
    undeclared = {name: sorted(files) for name, files in used(member).items() if name not in allowed}
    assert undeclared == {}, f"{own} imports what its pyproject.toml does not declare"


@pytest.mark.parametrize("member", MEMBERS, ids=lambda member: str(member.relative_to(ROOT)))
def test_a_member_declares_only_what_it_uses(member: Path) -> None:
    own = canonicalize_name(str(_project(member)["name"]))
    direct = {canonicalize_name(requirement.name) for requirement in _requirements(member)}
    unused = direct - used(member).keys() - USED_WITHOUT_IMPORT.get(own, set())
    assert unused == set(), f"{own} declares what it never imports"


def test_the_layering_holds() -> None:
    """The metric layer and the dashboard never reach Spark; the jobs that write Gold never reach the
    metric layer that reads it (both share the contracts); only the command line sees every package."""
    by_name: dict[str, Path] = {
        canonicalize_name(str(_project(member)["name"])): member for member in MEMBERS
    }
    for reader in ("bi-metrics", "bi-dashboard"):
        assert not {"bi-transform", "pyspark"} & used(by_name[reader]).keys(), reader
    assert not {"bi-metrics", "bi-dashboard", "duckdb"} & used(by_name["bi-transform"]).keys()
    workspace = set(by_name)
    assert workspace & used(by_name["bi-contracts"]).keys() == {"bi-lake", "bi-contracts"}
    assert workspace & used(by_name["bi-lake"]).keys() == {"bi-lake"}


def test_the_import_reader_skips_type_checking_and_the_standard_library() -> None:
    source = (
        "from __future__ import annotations\nimport os\nimport numpy as np\nfrom pyarrow import parquet\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mypy_boto3_s3 import S3Client\n"
        "def f():\n    from . import sibling\n    import sqlalchemy.exc\n"
    )
    assert imported_modules(source) == {"numpy", "pyarrow", "sqlalchemy"}
