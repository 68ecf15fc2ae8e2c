"""No function in the product's packages or the dashboard runs over 60 lines: a job is an orchestrator
of named steps, each short enough to read at once. Ruff's C90 and PLR0915 bound branches and
statements (pyproject.toml); this bounds what they do not see, long declarations and expressions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 60
CHECKED = ("packages", "apps")


def long_functions(root: Path, limit: int) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_in_the_packages_runs_over_60_lines() -> None:
    assert [problem for folder in CHECKED for problem in long_functions(ROOT / folder, MAX_LINES)] == []


def test_the_check_finds_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "long.py").write_text(f"def long() -> None:\n{body}\n")
    (tmp_path / "short.py").write_text("def short() -> None:\n    pass\n")
    assert long_functions(tmp_path, MAX_LINES) == [f"long.py:1 long ({MAX_LINES + 1} lines)"]
