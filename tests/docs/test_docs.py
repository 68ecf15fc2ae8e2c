"""The repository's docs: docs/metrics.md as the declarations generate it. Plain file reading and
string building: no Spark, no pipeline."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from bi_cli import docs
from bi_metrics.catalogue import DIMENSIONS, METRICS
from bi_metrics.gold import DATASETS
from bi_transform.silver import quality

ROOT = Path(__file__).resolve().parents[2]


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
        *(r.name for r in (*quality.LINE_RULES, *quality.OPTION_RULES, *quality.DUPLICATE_RULES)),
        *quality.REPAIR_KINDS,
    ]
    assert [name for name in names if f"`{name}`" not in text and f"### {name}" not in text] == []
