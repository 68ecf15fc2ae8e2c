"""`bi dashboard`: serve the Streamlit app on a lake, until interrupted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from rich.console import Console

from bi_dashboard.serve import streamlit_command
from bi_lake.errors import UserError
from bi_lake.settings import Settings

DEFAULT_DASHBOARD_PORT = 8501
# Only this machine by default: the dashboard has no login of its own.
DEFAULT_DASHBOARD_ADDRESS = "127.0.0.1"


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


def _port_is_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server will: a port whose last connections are still closing (TIME_WAIT) is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_dashboard(settings: Settings, port: int, address: str, err: Console) -> int:
    if not _port_is_free(address, port):
        raise UserError(f"port {port} is in use on {address}: pick another with --port")
    env = dashboard_environment(settings)
    shown = "localhost" if address in {"127.0.0.1", "localhost"} else address
    err.print(
        f"dashboard on http://{shown}:{port} for the lake at {env['BI_LAKE']} (Ctrl-C to stop)",
        highlight=False,
    )
    # A supervisor's SIGTERM stops the server too, rather than leaving it holding the port.
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    process = subprocess.Popen(streamlit_command(port, address), env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            process.kill()
            process.wait()
        err.print("dashboard stopped", highlight=False)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
