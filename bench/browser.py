"""How long each dashboard page takes to appear in a browser: headless Chromium at 1440x900.

    uv run python -m bench.browser [--lake ./lake] [--repeats 5] [--out FILE.json]

(from the repository's root: it serves and reads pages as the browser tests do, with
tests/dashboard/browsing.py). It serves the lake with `bi dashboard`, opens the first page, then
goes to every page by its link in the sidebar, as a reader does: once (its questions reach DuckDB
for the first time), then `--repeats` more rounds of every page (warm: the answers cached for this
Gold version, the app's scripts loaded). Each time is from the click to the page completely drawn:
every KPI with its value, every chart with its marks, every table drawn, nothing stale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, ViewportSize

from bi_dashboard.pages import PAGES, PageSpec
from tests.dashboard.browsing import served_page, settled
from tests.dashboard.conftest import CHROMIUM

VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


def _visit(page: Page, spec: PageSpec) -> float:
    """Seconds from clicking the page's sidebar link to the page completely drawn."""
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=spec.title).first
    started = time.monotonic()
    link.click()
    return settled(page, spec.title, since=started)


def measure(lake: str, repeats: int) -> dict[str, Any]:
    with served_page(lake, VIEWPORT) as (url, page):
        started = time.monotonic()
        page.goto(f"{url}/")
        opened = settled(page, PAGES[0].title, since=started)
        # The first page last, so that it too is reached by its link.
        order = [*PAGES[1:], PAGES[0]]
        first = {spec.name: _visit(page, spec) for spec in order}
        warm: dict[str, list[float]] = {spec.name: [] for spec in order}
        for _ in range(repeats):
            for spec in order:
                warm[spec.name].append(_visit(page, spec))
    pages = {
        spec.name: {
            "title": spec.title,
            "first_visit_s": round(first[spec.name], 3),
            "warm_p50_s": round(statistics.median(warm[spec.name]), 3),
            "warm_max_s": round(max(warm[spec.name]), 3),
        }
        for spec in PAGES
    }
    every_warm = [seconds for times in warm.values() for seconds in times]
    return {
        "lake": lake,
        "repeats": repeats,
        "opened_s": round(opened, 3),
        "pages": pages,
        "warm_p50_s": round(statistics.median(every_warm), 3),
        "warm_max_s": round(max(every_warm), 3),
    }


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"first page, from the address typed to completely drawn: {figures['opened_s']:.2f} s",
        "",
        f"{'page':<34} {'first visit s':>13} {'warm p50 s':>10} {'warm max s':>10}",
    ]
    for page in figures["pages"].values():
        lines.append(
            f"{page['title']:<34} {page['first_visit_s']:>13.2f} {page['warm_p50_s']:>10.2f} "
            f"{page['warm_max_s']:>10.2f}"
        )
    lines.append(
        f"{'every page, warm':<34} {'':>13} {figures['warm_p50_s']:>10.2f} {figures['warm_max_s']:>10.2f}"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.browser", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--lake", default="lake", help="the lake to serve (default ./lake)")
    parser.add_argument("--repeats", type=int, default=5, help="warm rounds of every page (default 5)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if not Path(CHROMIUM).exists():
        print(f"browser.py: error: {CHROMIUM} is missing: install Debian's chromium package", file=sys.stderr)
        return 1
    figures = measure(args.lake, args.repeats)
    print(render(figures))
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
