"""`docs/metrics.md`, generated from the declarations the product runs on.

    uv run python -m bi_cli.docs           # write docs/metrics.md (from the repository's root)
    uv run python -m bi_cli.docs --check   # exit 1 when the committed file differs

Every definition comes from where it is implemented: metrics, dimensions and building blocks from
`bi_metrics.catalogue`, Gold datasets from `bi_contracts.gold`, customer analytics from
`bi_contracts.customers`, how values read from `bi_metrics.labels`, quality rules from
`bi_contracts.quality`. Explanations are those modules' own declared text; this only lays them
out. It lives in the command-line package, which sees the metric layer and the contracts alike.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

from bi_contracts import customers as customer_rules
from bi_contracts import gold, quality, silver
from bi_contracts.gold import DATASETS, GoldDataset
from bi_contracts.measures import MEASURES
from bi_contracts.silver import TABLES as SILVER_TABLES
from bi_contracts.silver import SilverTable
from bi_lake.tables import Partitioning
from bi_metrics import catalogue, compiler
from bi_metrics.catalogue import BUILDING_BLOCKS, DIMENSIONS, METRICS, Dimension, Metric
from bi_metrics.labels import VALUE_WORDS
from bi_metrics.question import Question


def _repository() -> Path:
    """The workspace this module is checked out in (packages/cli/src/bi_cli/docs.py), or, installed as a
    wheel, the current folder."""
    checkout = Path(__file__).resolve().parents[4]
    return checkout if (checkout / "uv.lock").is_file() else Path.cwd()


DOC = _repository() / "docs" / "metrics.md"
COMMAND = "uv run python -m bi_cli.docs"
_UNITS = {"currency": "money", "count": "count", "percent": "percent", "number": "number"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return [*lines, ""]


def _code(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _paragraphs(module: ModuleType, skip_first: bool = True) -> list[str]:
    """A module's docstring as paragraphs (without its summary line, which names the module's role)."""
    text = inspect.getdoc(module) or ""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    return [line for p in paragraphs[1 if skip_first else 0 :] for line in (p, "")]


def _aggregates() -> list[GoldDataset]:
    return [dataset for dataset in DATASETS if dataset.role == "aggregate"]


def _answered_from(metric: Metric) -> str:
    """The aggregates that answer the metric as a total (by a dimension, the compiler may need fewer)."""
    question = Question(metrics=(metric.name,))
    return _code(d.name for d in _aggregates() if compiler.refusal(d, question) is None)


def _grouped_by(dimension: Dimension) -> str:
    question = Question(metrics=(METRICS[0].name,), by=(dimension.name,))
    return _code(d.name for d in _aggregates() if compiler.refusal(d, question) is None)


def _formula(metric: Metric) -> str:
    return f"`{metric.numerator} / {metric.denominator}`" if metric.denominator else f"`{metric.numerator}`"


def _totalled_by(measure: str) -> str:
    """How each aggregate totals a measure, datasets with the same SQL together."""
    by_sql: dict[str, list[str]] = {}
    for dataset in _aggregates():
        sql = dataset.answers.get(measure)
        if sql is None and measure == "repeat_customers" and dataset.orders_per_customer:
            sql = f"customers whose {dataset.orders_per_customer} >= 2"
        if sql is not None:
            by_sql.setdefault(sql, []).append(dataset.name)
    return "; ".join(f"`{sql}` in {_code(names)}" for sql, names in by_sql.items())


def _source(dimension: Dimension) -> str:
    if dimension.lookup is None:
        return "a column of the aggregates"
    key = gold.LOOKUP_KEYS[dimension.lookup]
    return f"`{dimension.lookup}.{dimension.source_column}`, joined on `{key}`"


def _rules(rules: Sequence[quality.QualityRule]) -> list[str]:
    """The rules as a table; a column every rule shares the value of is said once, before it."""
    columns = {"table": [r.table for r in rules], "then": [r.then for r in rules]}
    shared = {name: values[0] for name, values in columns.items() if len(set(values)) == 1}
    lead = []
    if "table" in shared:
        lead.append(f"Rows of `{shared['table']}`")
    if "then" in shared:
        lead.append(f"each {shared['then']}")
    headers = ["rule", *(["table"] if "table" not in shared else []), "catches"]
    headers += [] if "then" in shared else ["then"]
    rows = (
        [
            f"`{r.name}`",
            *([] if "table" in shared else [r.table]),
            r.catches,
            *([] if "then" in shared else [r.then]),
        ]
        for r in rules
    )
    return [*([", ".join(lead) + ".", ""] if lead else []), *_table(headers, rows)]


def _header() -> list[str]:
    return [
        "# Metrics, dimensions and rules",
        "",
        f"<!-- Generated by `{COMMAND}` from the declarations in the code; do not edit by hand. -->",
        "",
        "The definitions as the product implements them: `bi query`, `bi metrics` and the dashboard",
        "answer from exactly these. Money is exact decimal arithmetic end to end (DECIMAL, never binary",
        "floats). How the pieces fit together is in [architecture.md](architecture.md).",
        "",
        "- [Building blocks](#building-blocks)",
        "- [Metrics](#metrics)",
        "- [Dimensions](#dimensions)",
        "- [Silver tables](#silver-tables)",
        "- [Gold datasets](#gold-datasets)",
        "- [Customer analytics](#customer-analytics)",
        "- [Quality rules](#quality-rules)",
        "",
    ]


def _building_blocks() -> list[str]:
    return [
        "## Building blocks",
        "",
        "Silver computes these for every kept order line and order; the metrics are defined over them.",
        "",
        *_table(
            ("name", "for each", "definition"),
            ((f"`{b.name}`", b.grain, b.definition) for b in BUILDING_BLOCKS),
        ),
    ]


def _metrics() -> list[str]:
    return [
        "## Metrics",
        "",
        *_paragraphs(catalogue),
        *_table(
            ("metric", "label", "definition", "aggregation", "formula", "unit", "answered from"),
            (
                (
                    f"`{m.name}`",
                    m.label,
                    m.description,
                    m.aggregation,
                    _formula(m),
                    _UNITS[m.format],
                    _answered_from(m),
                )
                for m in METRICS
            ),
        ),
        "### Measures",
        "",
        "What the formulas add up, and how each Gold aggregate totals it over its rows.",
        "",
        *_table(
            ("measure", "kind", "definition", "totalled as"),
            ((f"`{m.name}`", m.kind, m.description, _totalled_by(m.name)) for m in MEASURES),
        ),
        "### Answering exactly",
        "",
        *_paragraphs(compiler),
    ]


def _value_words() -> list[str]:
    rows = []
    for name, value_words in VALUE_WORDS.items():
        shown = ", ".join(f"`{str(raw).lower()}`: {text}" for raw, text in value_words.words.items())
        rows.append((f"`{name}`", shown, ", ".join(value_words.order), value_words.missing))
    return _table(("dimension", "values shown as", "business order", "no value shown as"), rows)


def _dimensions() -> list[str]:
    return [
        "## Dimensions",
        "",
        "Any metric can be asked by any dimension; a question the Gold datasets cannot answer exactly is",
        "refused with the reasons. The level says where a dimension's values vary: `order` (one value per",
        "order), `line` (may differ between the lines of one order) or `customer` (each customer's value",
        "at S, the same across every restaurant).",
        "",
        *_table(
            ("dimension", "label", "definition", "type", "level", "from", "aggregates that group by it"),
            (
                (f"`{d.name}`", d.label, d.description, d.type, d.level, _source(d), _grouped_by(d))
                for d in DIMENSIONS
            ),
        ),
        "### How values read",
        "",
        "The dashboard and `bi query --format table` write these values in words; CSV, JSON and `--where`",
        "keep the raw values.",
        "",
        *_value_words(),
    ]


def _dataset(dataset: GoldDataset) -> list[str]:
    facts = [f"{dataset.description}. Role: {dataset.role}; grain: {_code(dataset.grain)}"]
    facts += _partitioning(dataset.partitioning)
    if dataset.sort_by:
        facts.append(f"sorted by {_code(dataset.sort_by)}")
    columns = ((f"`{c.name}`", c.type, c.description) for c in dataset.columns)
    return _declared(dataset.name, facts, ("column", "type", "description"), columns)


def _declared(
    name: str, facts: list[str], headers: tuple[str, ...], columns: Iterable[tuple[str, ...]]
) -> list[str]:
    """A declared table's section: its facts in a sentence, then its columns."""
    return [f"### {name}", "", "; ".join(facts) + ".", "", *_table(headers, columns)]


def _partitioning(by: Partitioning | None) -> list[str]:
    if by is None:
        return []
    return [
        f"partitioned by the day of `{by.column}`"
        if by.transform == "day"
        else f"partitioned by `{by.column}`"
    ]


def _silver_table(table: SilverTable) -> list[str]:
    facts = [f"{table.description}. Key: {_code(table.key)}", *_partitioning(table.partitioning)]
    columns = ((f"`{c.name}`", c.type, "yes" if c.nullable else "no") for c in table.columns)
    return _declared(table.name, facts, ("column", "type", "NULL allowed"), columns)


def _silver() -> list[str]:
    return [
        "## Silver tables",
        "",
        *_paragraphs(silver),
        *(line for table in SILVER_TABLES for line in _silver_table(table)),
    ]


def _gold() -> list[str]:
    return ["## Gold datasets", "", *_paragraphs(gold), *(line for d in DATASETS for line in _dataset(d))]


def _customers() -> list[str]:
    c = customer_rules
    rules = [c.INACTIVE_RULE, *c.SEGMENT_RULES]
    return [
        "## Customer analytics",
        "",
        c.POPULATION,
        "",
        "Every figure below is a column of [`dim_customer_snapshot`](#dim_customer_snapshot); CLV as it",
        "evolves is [`agg_customer_clv_daily`](#agg_customer_clv_daily).",
        "",
        *_table(
            ("window or boundary", "value"),
            (
                (
                    "RFM window (recency, frequency, monetary)",
                    f"the {c.RFM_DAYS} days to S: S-{c.RFM_DAYS - 1} .. S",
                ),
                ("New customer", f"first order in the {c.NEW_DAYS} days to S"),
                (
                    "spend windows",
                    f"{c.SPEND_DAYS} days: S-{c.SPEND_DAYS - 1} .. S, and the {c.SPEND_DAYS} before",
                ),
                ("RFM scores", f"NTILE({c.SCORE_TILES}), ties broken by user_id"),
            ),
        ),
        "### CLV tiers",
        "",
        *_table(("tier", "when"), ((f"`{r.name}`", r.when) for r in c.CLV_TIER_RULES)),
        "### RFM segments",
        "",
        "Tried in this order; a customer gets the first that applies.",
        "",
        *_table(("order", "segment", "when"), ((i, f"`{r.name}`", r.when) for i, r in enumerate(rules, 1))),
        "### Churn risk",
        "",
        *_table(("churn_risk", "when"), ((f"`{r.name}`", r.when) for r in c.CHURN_RISK_RULES)),
    ]


def _quality() -> list[str]:
    return [
        "## Quality rules",
        "",
        quality.GUARANTEE,
        "",
        "### Quarantined order lines",
        "",
        "A line is quarantined for the first rule that applies, in this order.",
        "",
        *_rules(quality.LINE_RULES),
        "### Quarantined options",
        "",
        *_rules(quality.OPTION_RULES),
        "### Duplicates",
        "",
        *_rules(quality.DUPLICATE_RULES),
        "### Repairs",
        "",
        "Kept lines are repaired and counted by kind in the run report.",
        "",
        *_rules(quality.REPAIR_RULES),
    ]


def render() -> str:
    sections = (
        _header(),
        _building_blocks(),
        _metrics(),
        _dimensions(),
        _silver(),
        _gold(),
        _customers(),
        _quality(),
    )
    lines = [line for section in sections for line in section]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bi_cli.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOC, help=f"where to write (default {DOC})")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs, write nothing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != text:
            print(f"{args.out} is stale; run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
