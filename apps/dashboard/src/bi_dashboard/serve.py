"""How Streamlit serves the app, declared once: the container's command (`bi-dashboard`) and `bi dashboard`
both start it with these options, so a laptop and the load balancer's target behave alike.

The server process also opens the first page once itself, as soon as it accepts connections (`warm`):
Streamlit's caches live in that process, so the first person to open the dashboard finds the modules
imported, Gold's views open and the Overview's answers computed, rather than waiting for all of it.
Its page also asks the browser for the code of the first page's elements from the start
(`bi_dashboard.preload`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request
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

# Printed (to stderr) once the first page has been run in the server; the browser test waits for it.
WARMED = "dashboard ready: the first page was prepared in"
WARM_TIMEOUT_S = 180.0


def streamlit_command(
    port: int | None = None, address: str | None = None, *, python: str = sys.executable
) -> list[str]:
    """`streamlit run` on the installed app, through this module so the server warms itself. Without a
    port or address Streamlit takes them from STREAMLIT_SERVER_PORT and STREAMLIT_SERVER_ADDRESS, as the
    container's environment sets them: a flag given here would override the environment."""
    command = [python, "-m", "bi_dashboard.serve", "run", str(APP)]
    for name, value in SERVER_OPTIONS.items():
        command += [f"--{name}", value]
    if port is not None:
        command += ["--server.port", str(port)]
    if address is not None:
        command += ["--server.address", address]
    return command


def _own_url() -> str | None:
    """Where this process's server answers on this machine, once Streamlit has read its options; None
    for a server on a Unix socket."""
    from streamlit import config

    address = str(config.get_option("server.address") or "")
    if address.startswith("unix://"):
        return None
    if address in {"", "0.0.0.0", "::", "localhost"}:
        address = "127.0.0.1"
    elif ":" in address:
        address = f"[{address}]"
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://{address}:{config.get_option('server.port')}" + (f"/{base}" if base else "")


def _wait_until_serving(deadline: float) -> str | None:
    from streamlit import runtime

    while time.monotonic() < deadline:
        url = _own_url() if runtime.exists() else None
        if url is not None:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        return url
            except OSError:
                pass
        time.sleep(0.1)
    return None


def open_first_page(url: str, timeout_s: float = WARM_TIMEOUT_S) -> None:
    """Open the app at `url` as a browser does (over the app's websocket, without any identity header)
    and wait until its script run has finished."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    stream = "ws" + url.removeprefix("http") + "/_stcore/stream"
    deadline = time.monotonic() + timeout_s
    rerun = BackMsg(rerun_script=ClientState(query_string="", page_script_hash=""))
    with connect(stream, subprotocols=["streamlit"], open_timeout=timeout_s, max_size=None) as socket:  # type: ignore[list-item]
        socket.send(rerun.SerializeToString())
        while True:
            message = ForwardMsg()
            data = socket.recv(timeout=max(deadline - time.monotonic(), 0.1))
            message.ParseFromString(data if isinstance(data, bytes) else data.encode())
            if message.WhichOneof("type") == "script_finished":
                return


def warm(timeout_s: float = WARM_TIMEOUT_S) -> None:
    """In the server's process: wait until it answers, then run the first page once, so that the
    modules are imported and the Overview's answers are in the cache before anyone asks. A failure
    is reported and otherwise ignored: the server serves as it would have without."""
    started = time.monotonic()
    try:
        url = _wait_until_serving(started + timeout_s)
        if url is None:
            return
        open_first_page(url, timeout_s)
    except Exception as exc:  # warming is an optimisation: it never stops the server
        print(f"dashboard: could not prepare the first page ahead ({exc!r})", file=sys.stderr, flush=True)
        return
    print(f"{WARMED} {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def run(args: list[str]) -> None:
    """Streamlit's command line (`streamlit run ...`) in this process, warmed by a thread beside it."""
    from streamlit.web.cli import main as streamlit_main

    from bi_dashboard import preload

    preload.install()
    threading.Thread(target=warm, name="bi-dashboard-warm", daemon=True).start()
    streamlit_main(args=args, prog_name="streamlit")


def main() -> None:
    """The container's command. The process becomes Streamlit itself, so the stop signal the container
    runtime sends reaches the server rather than a wrapper."""
    command = streamlit_command()
    os.execv(command[0], command)


if __name__ == "__main__":
    run(sys.argv[1:])
