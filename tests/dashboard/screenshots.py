"""The README's screenshots, taken again in one command from the repository's root:

    uv run python -m tests.dashboard.screenshots            # the demo lake ./lake, built first if it has no Gold
    uv run python -m tests.dashboard.screenshots --lake PATH

It serves the lake with `bi dashboard`, opens every page at 1440x900 in headless Chromium (Debian's
`chromium`, as the browser tests) once it is completely drawn, and writes docs/dashboard/<page>.png;
the Overview is also docs/dashboard-overview.png, the picture at the top of the README.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import ViewportSize

from bi_dashboard.pages import PAGES
from bi_lake.settings import Settings
from bi_metrics.engine import MetricsEngine
from tests.dashboard.browsing import lake_environment, served_page, settled
from tests.dashboard.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


def has_gold(lake: str) -> bool:
    engine = MetricsEngine.open(Settings.model_validate({"lake": lake}))
    try:
        return engine.read_state().run_id is not None
    finally:
        engine.close()


def take(lake: str, out: Path = DOCS) -> list[Path]:
    """Every page of the dashboard on `lake`, photographed into out/dashboard/; the files written."""
    folder = out / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with served_page(lake, VIEWPORT) as (url, page):
        for spec in PAGES:
            page.goto(f"{url}/{spec.url_path}")
            settled(page, spec.title)
            # The page as a person first sees it, without the mouse over anything.
            page.mouse.move(0, 0)
            path = folder / f"{spec.name}.png"
            page.screenshot(path=str(path))
            written.append(path)
            print(f"{spec.title}: {path}", flush=True)
    overview = out / "dashboard-overview.png"
    shutil.copyfile(folder / f"{PAGES[0].name}.png", overview)
    return [*written, overview]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.dashboard.screenshots", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--lake", default="lake", help="the lake to show (default ./lake, the demo lake)")
    parser.add_argument("--out", type=Path, default=DOCS, help="where docs/ is (default the repository's)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install Debian's chromium package", file=sys.stderr)
        return 1
    if not has_gold(args.lake):
        print(
            f"{args.lake} has no Gold yet: building the demo lake with `bi run` (a few minutes)", flush=True
        )
        subprocess.run(
            [sys.executable, "-m", "bi_cli.main", "run", "--lake", args.lake],
            env=lake_environment(),
            check=True,
        )
    take(args.lake, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
