"""Serving the dashboard and reading it in headless Chromium, shared by the browser tests and the
screenshot command: `bi dashboard` on a lake, and the wait until a page is completely drawn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

from bi_dashboard.serve import WARMED
from tests.dashboard.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy

# A page is drawn when its script run has finished, nothing is still a placeholder (Streamlit shows a
# skeleton until an element's code has loaded, and marks the previous run's elements stale), every KPI
# tile has its value and every chart its marks: "notRunning" alone comes before the elements are drawn.
_DRAWN = """title => {
  const app = document.querySelector('[data-testid="stApp"]');
  const h1 = document.querySelector('[data-testid="stMain"] h1');
  if (!app || app.dataset.testScriptState !== 'notRunning' || !h1 || !h1.innerText.includes(title)) return null;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSpinner"], [data-stale="true"]')) return null;
  const metrics = [...document.querySelectorAll('[data-testid="stMetric"]')];
  if (metrics.some(m => !(m.querySelector('[data-testid="stMetricValue"]')?.innerText || '').trim())) return null;
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  if (charts.some(c => !c.querySelector('svg.marks .role-mark, canvas'))) return null;
  const frames = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
  if (frames.some(f => !f.querySelector('canvas'))) return null;
  return [metrics.length, charts.length, frames.length,
          document.querySelectorAll('[data-testid="stElementContainer"]').length].join('/');
}"""


def settled(
    page: Page, title: str, *, since: float | None = None, timeout_ms: float = 60_000, steady_ms: int = 300
) -> float:
    """Wait until the page titled `title` is completely drawn and stays so for `steady_ms`; the
    seconds until it was first drawn, counted from `since` (a time.monotonic(), by default now)."""
    started = time.monotonic() if since is None else since
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left = max(deadline - time.monotonic(), 0.1) * 1000
        drawn = page.wait_for_function(_DRAWN, arg=title, timeout=left, polling=50).json_value()
        seconds = time.monotonic() - started
        page.wait_for_timeout(steady_ms)
        if page.evaluate(_DRAWN, title) == drawn:
            return seconds
        if time.monotonic() > deadline:
            raise TimeoutError(f"{title}: the page kept changing")


def lake_environment() -> dict[str, str]:
    """This process's environment without any BI_ setting, so only the lake given counts."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BI_")}


@contextmanager
def dashboard(lake: str, log: Path, *, ready_timeout_s: float = 180) -> Iterator[str]:
    """`bi dashboard` on `lake` on a free port, until the server has prepared its first page (its log
    says so); yields its URL, and stops it at the end."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "bi_cli.main", "dashboard", "--lake", lake, "--port", str(port)],
            env=lake_environment(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, server, log)
            deadline = time.monotonic() + ready_timeout_s
            while WARMED not in log.read_text() and time.monotonic() < deadline and server.poll() is None:
                time.sleep(0.1)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@contextmanager
def served_page(lake: str, viewport: ViewportSize) -> Iterator[tuple[str, Page]]:
    """`bi dashboard` on `lake` and a page of a new headless Chromium of that size: the dashboard's
    URL and the page, both closed at the end."""
    with (
        tempfile.TemporaryDirectory() as scratch,
        dashboard(lake, Path(scratch) / "server.log") as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield url, browser.new_page(viewport=viewport)
        finally:
            browser.close()


def prepared_seconds(log: Path) -> str:
    """The server's own line on preparing its first page, or what it said instead."""
    lines = [line for line in log.read_text().splitlines() if "first page" in line]
    return lines[-1] if lines else "(the server did not say it prepared its first page)"
