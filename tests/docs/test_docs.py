"""The repository's docs: docs/metrics.md as the declarations generate it, and every reference inside
the repository. Plain file reading and string building: no Spark, no pipeline."""

from __future__ import annotations

import difflib
import re
import subprocess
from pathlib import Path

import pytest

from bi_cli import docs
from bi_contracts import quality
from bi_contracts.gold import DATASETS
from bi_contracts.silver import TABLES as SILVER_TABLES
from bi_metrics.catalogue import DIMENSIONS, METRICS

ROOT = Path(__file__).resolve().parents[2]
# Documents outside the repository that code, tests and docs once pointed to.
OUTSIDE = re.compile(r"\b(?:DESIGN|METRICS)\.md\b|\.\./shared\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_metrics_doc_is_current() -> None:
    committed = (ROOT / docs.DOC).read_text(encoding="utf-8")
    generated = docs.render()
    if committed != generated:
        diff = difflib.unified_diff(
            committed.splitlines(), generated.splitlines(), "committed", "generated", lineterm="", n=1
        )
        pytest.fail(f"{docs.DOC} is stale; run {docs.COMMAND}\n" + "\n".join(list(diff)[:40]))


def test_check_flag_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "metrics.md"
    assert docs.main(["--out", str(out)]) == 0
    assert docs.main(["--check", "--out", str(out)]) == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert docs.main(["--check", "--out", str(out)]) == 1
    assert f"is stale; run {docs.COMMAND}" in capsys.readouterr().err


def test_every_declaration_is_in_the_doc() -> None:
    text = docs.render()
    names = [
        *(m.name for m in METRICS),
        *(d.name for d in DIMENSIONS),
        *(d.name for d in DATASETS),
        *(t.name for t in SILVER_TABLES),
        *(c.name for t in SILVER_TABLES for c in t.columns),
        *(r.name for r in (*quality.LINE_RULES, *quality.OPTION_RULES, *quality.DUPLICATE_RULES)),
        *quality.REPAIR_KINDS,
    ]
    assert [name for name in names if f"`{name}`" not in text and f"### {name}" not in text] == []


def _tracked_text_files() -> list[Path]:
    """The repository's own text files: git's list, or (in a copy without git) every file outside the
    environment, build and lake folders."""
    suffixes = {".py", ".md", ".toml", ".yaml", ".yml", ".json", ".txt", ".cfg", ".sh", ""}
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skipped = {".git", ".venv", "lake", ".bi", "dist", "node_modules", "__pycache__"}
        paths = [p for p in ROOT.rglob("*") if not skipped & set(p.relative_to(ROOT).parts)]
    return [p for p in paths if p.suffix in suffixes and p.is_file()]


def test_no_reference_points_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked_text_files()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == [], "references to documents outside the repository:\n" + "\n".join(offenders)


@pytest.mark.parametrize("document", ["README.md", "docs/metrics.md", "docs/architecture.md"])
def test_links_resolve_inside_the_repository(document: str) -> None:
    source = ROOT / document
    broken = []
    for target in LINK.findall(source.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "#", "mailto:")):
            continue
        path = (source.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert broken == [], f"{document} links to what the repository does not hold: {broken}"
