"""One version for the whole product: every member declares the root's, and the code reports it."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import pytest

from bi_lake import version as product

ROOT = Path(__file__).resolve().parents[2]


def _version_of(folder: Path) -> str:
    return str(tomllib.loads((folder / "pyproject.toml").read_text())["project"]["version"])


def _members() -> list[Path]:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    return sorted(path.parent for glob in globs for path in ROOT.glob(f"{glob}/pyproject.toml"))


def test_every_member_declares_the_roots_version() -> None:
    members = _members()
    assert len(members) >= 8, members
    expected = _version_of(ROOT)
    differing = {str(m.relative_to(ROOT)): _version_of(m) for m in members if _version_of(m) != expected}
    assert not differing, f"the root says {expected}; run `make version VERSION={expected}`: {differing}"


def test_the_code_reports_the_declared_version() -> None:
    assert product.code_version() == product.__version__ == _version_of(ROOT)


def test_code_that_was_never_installed_says_its_version_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(product, "version", not_installed)
    product.code_version.cache_clear()
    try:
        assert product.code_version() == product.UNKNOWN
    finally:
        product.code_version.cache_clear()


def test_the_newest_release_in_the_changelog_is_the_declared_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    released = re.findall(r"^## \[(\d[^\]]*)\] - \d{4}-\d{2}-\d{2}$", text, flags=re.MULTILINE)
    if released:
        assert released[0] == _version_of(ROOT), "bump the version and name its release in the changelog"
