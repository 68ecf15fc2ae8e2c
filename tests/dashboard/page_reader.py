"""Reads a dashboard page as a person would and lists what should never be shown: a `None`, `null` or
`NaN`, a raw `true`/`false` as a value, a 24-character hex id, a number or label cut off with an
ellipsis, and a KPI or label too wide for its box.

`text_defects` is pure (unit-tested in test_page_reader.py); `read_page` collects a settled page's
texts in the browser: the main area's and the sidebar's innerText, the charts' own text (Streamlit
draws Vega-Lite as SVG: axis titles, ticks and legends are `<text>` elements, the axes' aria-labels
name their values, and each mark's aria-label is its tooltip), the tables' cells (the data grid draws
on a canvas; its accessible table holds the raw values, not as formatted) and the boxes whose text is
cut off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page


@dataclass(frozen=True)
class Defect:
    where: str  # main, sidebar, chart, tooltip, table, layout
    kind: str
    shown: str  # what is wrong, as shown
    context: str = ""  # the first place it is shown, with a little text around it

    def __str__(self) -> str:
        around = f"  (in: {self.context})" if self.context and self.context != self.shown else ""
        return f"[{self.where}] {self.kind}: {self.shown}{around}"


# A missing value printed as it is stored. "None" starting a phrase ("None of the orders ...") is prose.
_MISSING = re.compile(r"(?<![\w.-])(None|null|NaN|nan|NaT|<NA>|undefined)(?![\w-])(?! [a-z])")
# A boolean as a value: alone in a cell or line, or after "label:" / "=".
_BOOLEAN = re.compile(r"(?:^|[\t|]|[:=] ?)\s*(true|false|True|False)\s*(?=$|[\t|;,])", re.MULTILINE)
_HEX_ID = re.compile(r"\b[0-9a-f]{24}\b")
# A number cut by an ellipsis ("2,506,736…", "1…5"), or a word, name or id ("Net sal…", "d3eb50b6…").
_CUT_NUMBER = re.compile(r"(?<![\w.,])\d[\d,.]*(?:…|\.{3})|(?<![\w.,])\d[\d,.]*…\d")
_CUT_WORD = re.compile(r"[^\s…]*[^\W\d_][^\s…]*?(?:…|\.{3})")

# Which rules apply where: a table's accessible cells hold raw values (a boolean column is drawn as
# checkboxes, a long number as formatted), so only what no format hides is read there.
_RULES: dict[str, tuple[str, ...]] = {
    "table": ("missing", "hex"),
}
_ALL_RULES = ("missing", "boolean", "hex", "cut")


def _context(text: str, start: int, end: int, width: int = 30) -> str:
    before = text[max(start - width, 0) : start].split("\n")[-1]
    after = text[end : end + width].split("\n")[0]
    return f"{before}{text[start:end]}{after}".strip()


def text_defects(text: str, where: str = "main") -> list[Defect]:
    """What is wrong in one piece of visible text, in the order it appears: each wrong text once,
    with the first place it is shown."""
    rules = _RULES.get(where, _ALL_RULES)
    found: list[tuple[int, Defect]] = []

    def add(pattern: re.Pattern[str], kind: str, group: int = 0) -> None:
        for match in pattern.finditer(text):
            start, end = match.span(group)
            found.append((start, Defect(where, kind, text[start:end], _context(text, start, end))))

    if "missing" in rules:
        add(_MISSING, "missing value shown as text", 1)
    if "boolean" in rules:
        add(_BOOLEAN, "raw boolean shown", 1)
    if "hex" in rules:
        add(_HEX_ID, "hex id shown")
    if "cut" in rules:
        add(_CUT_NUMBER, "number cut off with an ellipsis")
        add(_CUT_WORD, "label cut off with an ellipsis")
    return _once(defect for _, defect in sorted(found, key=lambda item: item[0]))


def _once(defects: Iterable[Defect]) -> list[Defect]:
    unique: dict[tuple[str, str, str], Defect] = {}
    for defect in defects:
        unique.setdefault((defect.where, defect.kind, defect.shown), defect)
    return list(unique.values())


def page_defects(texts: dict[str, list[str]], cut_off: list[str]) -> list[Defect]:
    """Every defect of a page from what `read_page` collected: each wrong text once per place."""
    found = [d for where, pieces in texts.items() for piece in pieces for d in text_defects(piece, where)]
    return _once([*found, *(Defect("layout", "text cut off in its box", text) for text in cut_off)])


_TABLES_WRITTEN = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
    .every(frame => frame.querySelector('table td'))"""

# Run in the page: the texts by where they are shown, and the boxes whose text does not fit.
_READ = """() => {
  const inner = sel => [...document.querySelectorAll(sel)].map(e => e.innerText);
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  const chartText = charts.map(c => [
      ...[...c.querySelectorAll('svg text')].map(t => t.textContent),
      ...[...c.querySelectorAll('svg [aria-roledescription="axis"], svg [aria-roledescription="legend"]')]
          .map(a => a.getAttribute('aria-label') || ''),
  ].join('\\n'));
  const tooltips = charts.map(c => [...new Set(
      [...c.querySelectorAll('svg .role-mark [aria-label], svg .role-mark[aria-label]')]
          .map(m => m.getAttribute('aria-label')))].join('\\n'));
  // A customer is named by their id (the churn list, to act on): the one column a hex id belongs in.
  const tables = [...document.querySelectorAll('[data-testid="stDataFrame"] table')].map(t => {
      const rows = [...t.querySelectorAll('tr')].map(r => [...r.querySelectorAll('th, td')].map(c => c.innerText));
      const customer = rows.length ? rows[0].indexOf('Customer') : -1;
      return rows.map(cells => cells.filter((_, i) => i !== customer).join('\\t')).join('\\n');
  });
  const cut = [];
  const boxes = document.querySelectorAll(
      '[data-testid="stMain"] *, [data-testid="stSidebar"] *');
  for (const el of boxes) {
    const metric = el.closest('[data-testid="stMetricValue"], [data-testid="stMetricLabel"], [data-testid="stMetricDelta"]');
    const style = getComputedStyle(el);
    const clips = style.textOverflow === 'ellipsis' || (metric && style.overflow !== 'visible');
    if (!clips || !el.innerText || el.closest('svg')) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      const which = metric ? metric.dataset.testid : (el.dataset.testid || el.tagName.toLowerCase());
      cut.push(`${which}: ${el.innerText.trim().replace(/\\s+/g, ' ')} (${el.scrollWidth}px in ${el.clientWidth}px)`);
    }
  }
  // A table's grid is a canvas: wider than its box, its last columns are out of sight.
  for (const scroller of document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')) {
    if (scroller.scrollWidth > scroller.clientWidth + 1) {
      const head = scroller.closest('[data-testid="stDataFrame"]').querySelector('table tr');
      cut.push(`table: ${head ? head.innerText.replace(/\\s+/g, ' ') : ''} (${scroller.scrollWidth}px in ${scroller.clientWidth}px)`);
    }
  }
  return {
    texts: {
      main: inner('[data-testid="stMain"]'), sidebar: inner('[data-testid="stSidebar"]'),
      chart: chartText, tooltip: tooltips, table: tables,
    },
    cut: [...new Set(cut)],
  };
}"""


def read_page(page: Page) -> tuple[dict[str, list[str]], list[str]]:
    """The settled page's texts by where they are shown, and the texts cut off in their boxes."""
    # A table's accessible copy (its cells as text) is written a moment after the grid is drawn; the
    # pages never draw an empty table (they say there is no data instead).
    page.wait_for_function(_TABLES_WRITTEN, timeout=30_000)
    found: dict[str, Any] = page.evaluate(_READ)
    return found["texts"], found["cut"]
