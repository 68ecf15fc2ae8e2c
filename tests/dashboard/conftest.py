"""What the dashboard's browser tests share: headless Chromium, and moto's S3 for the container test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from bi_infra.dashboard_task import HEALTH_PATH
from tests.s3.conftest import moto_endpoint  # noqa: F401 (moto's S3 and KMS, for the container test)

CHROMIUM = "/usr/bin/chromium"
# The closed network refuses Chromium's own background connections; these flags stop it trying.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    """Until Streamlit's health check answers; a server that exits or never answers fails the test
    with the end of its log (and is killed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}{HEALTH_PATH}", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            os.killpg(server.pid, signal.SIGKILL)
            pytest.fail(f"the dashboard did not start: {log.read_text()[-3000:]}")
        time.sleep(0.3)
