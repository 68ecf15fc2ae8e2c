"""`bi dashboard`: serve the Streamlit app on a lake, until interrupted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from rich.console import Console

import bi_dashboard
from bi_lake.errors import UserError
from bi_lake.settings import Settings

DEFAULT_DASHBOARD_PORT = 8501
APP = Path(bi_dashboard.__file__).parent / "app.py"


def _absolute(location: str | None) -> str | None:
    """A local folder made absolute, so the app finds it whatever its working folder."""
    if location is None or "://" in location:
        return location
    return str(Path(location).resolve())


def dashboard_environment(settings: Settings) -> dict[str, str]:
    """The app reads its lake from the environment, as every `bi` command does."""
    env = dict(os.environ)
    for name, value in (
        ("BI_LAKE", settings.lake),
        ("BI_BRONZE_URI", settings.bronze_uri),
        ("BI_SILVER_URI", settings.silver_uri),
        ("BI_GOLD_URI", settings.gold_uri),
    ):
        absolute = _absolute(value)
        if absolute is not None:
            env[name] = absolute
    return env


def streamlit_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port),
        "--server.headless", "true",
        # Nothing leaves the machine, and nothing is watched or reloaded in production use.
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def serve_dashboard(settings: Settings, port: int, err: Console) -> int:
    if not _port_is_free(port):
        raise UserError(f"port {port} is in use: pick another with --port")
    env = dashboard_environment(settings)
    err.print(
        f"dashboard on http://localhost:{port} for the lake at {env['BI_LAKE']} (Ctrl-C to stop)",
        highlight=False,
    )
    process = subprocess.Popen(streamlit_command(port), env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        err.print("dashboard stopped", highlight=False)
        return 0
