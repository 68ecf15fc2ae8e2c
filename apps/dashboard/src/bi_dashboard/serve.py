"""How Streamlit serves the app, declared once: the container's command (`bi-dashboard`) and `bi dashboard`
both start it with these options, so a laptop and the load balancer's target behave alike."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")

# Served to people, never developed in place: no browser to open, nothing sent to Streamlit's usage
# statistics (nothing leaves the machine), no file watched or reloaded, and no developer menu.
SERVER_OPTIONS: dict[str, str] = {
    "server.headless": "true",
    "browser.gatherUsageStats": "false",
    "server.fileWatcherType": "none",
    "server.runOnSave": "false",
    "client.toolbarMode": "viewer",
    # The welcome banner looks up the machine's public address on the internet when the server listens
    # on every interface, as in the container; the callers say where the dashboard is themselves.
    "logger.hideWelcomeMessage": "true",
}


def streamlit_command(
    port: int | None = None, address: str | None = None, *, python: str = sys.executable
) -> list[str]:
    """`streamlit run` on the installed app. Without a port or address Streamlit takes them from
    STREAMLIT_SERVER_PORT and STREAMLIT_SERVER_ADDRESS, as the container's environment sets them: a
    flag given here would override the environment."""
    command = [python, "-m", "streamlit", "run", str(APP)]
    for name, value in SERVER_OPTIONS.items():
        command += [f"--{name}", value]
    if port is not None:
        command += ["--server.port", str(port)]
    if address is not None:
        command += ["--server.address", address]
    return command


def main() -> None:
    """The container's command. The process becomes Streamlit itself, so the stop signal the container
    runtime sends reaches the server rather than a wrapper."""
    command = streamlit_command()
    os.execv(command[0], command)
