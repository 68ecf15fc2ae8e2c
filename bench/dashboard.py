"""How fast the dashboard answers an interaction: every page rendered by Streamlit's AppTest, in-process.

    uv run python bench/dashboard.py [--lake ./lake] [--repeats 10] [--out FILE.json]

For each page: its first render (its questions not yet cached), a rerun with the same filters (cached
by Gold version), and a filter change (a different restaurant each time, so new questions reach DuckDB).
This is the server's work for an interaction; the browser's drawing comes on top.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

import bi_dashboard
from bi_dashboard.pages import PAGES, PageSpec

APP = str(Path(bi_dashboard.__file__).parent / "app.py")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _timed(step: Any) -> float:
    started = time.perf_counter()
    step()
    return (time.perf_counter() - started) * 1000


def _check(app: AppTest, page: str) -> None:
    if app.exception or app.error:
        raise SystemExit(f"{page}: the page failed: {[e.value for e in [*app.exception, *app.error]]}")


def start_app(lake: str) -> tuple[AppTest, float]:
    """The app on that lake after its first script run, and how long that run took (imports included)."""
    os.environ["BI_LAKE"] = lake
    app = AppTest.from_file(APP, default_timeout=300)
    start_ms = _timed(app.run)
    _check(app, "start")
    return app, start_ms


def measure_page(app: AppTest, spec: PageSpec, repeats: int) -> tuple[dict[str, float], list[float]]:
    """One page's figures, and every interaction's time on it: its first render, reruns with the same
    filters, then filter changes; the filters are cleared again after."""
    restaurants = list(app.sidebar.multiselect(key="f_restaurants").options)
    first = _timed(lambda: app.switch_page(spec.script).run())
    _check(app, spec.title)
    reruns = [_timed(app.run) for _ in range(repeats)]
    changes = []
    for index in range(repeats):
        chooser = app.sidebar.multiselect(key="f_restaurants")
        changes.append(
            _timed(lambda c=chooser, i=index: c.set_value([restaurants[i % len(restaurants)]]).run())
        )
        _check(app, spec.title)
    app.sidebar.multiselect(key="f_restaurants").set_value([]).run()
    figures = {
        "first_ms": round(first, 1),
        "rerun_p50_ms": round(statistics.median(reruns), 1),
        "filter_change_p50_ms": round(statistics.median(changes), 1),
        "filter_change_p95_ms": round(percentile(changes, 0.95), 1),
    }
    return figures, [first, *reruns, *changes]


def measure(lake: str, repeats: int) -> dict[str, Any]:
    app, start_ms = start_app(lake)
    pages: dict[str, Any] = {}
    every_interaction: list[float] = []
    for spec in PAGES:
        pages[spec.name], interactions = measure_page(app, spec, repeats)
        every_interaction += interactions
    return {
        "start_ms": round(start_ms, 1),
        "pages": pages,
        "interaction_p50_ms": round(statistics.median(every_interaction), 1),
        "interaction_p95_ms": round(percentile(every_interaction, 0.95), 1),
        "interaction_max_ms": round(max(every_interaction), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lake", default=os.environ.get("BI_LAKE", "./lake"), help="lake (default ./lake)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    figures = measure(str(Path(args.lake).resolve()) if "://" not in args.lake else args.lake, args.repeats)
    print(f"app start (first script run, imports included): {figures['start_ms']:.0f} ms")
    print(f"{'page':<16} {'first ms':>9} {'rerun p50':>10} {'filter p50':>11} {'filter p95':>11}")
    for name, page in figures["pages"].items():
        print(
            f"{name:<16} {page['first_ms']:>9.1f} {page['rerun_p50_ms']:>10.1f} "
            f"{page['filter_change_p50_ms']:>11.1f} {page['filter_change_p95_ms']:>11.1f}"
        )
    print(
        f"every interaction: p50 {figures['interaction_p50_ms']:.1f} ms, "
        f"p95 {figures['interaction_p95_ms']:.1f} ms, max {figures['interaction_max_ms']:.1f} ms"
    )
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
