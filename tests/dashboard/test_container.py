"""The dashboard's image without a Docker engine: its environment is installed by exactly the Dockerfile's
install commands, in a fresh folder holding only what the Dockerfile copies (as the build context lets it
through), into a fresh venv; then the Dockerfile's command starts from that venv with the task
definition's environment, on a Gold in S3 (moto) encrypted with a KMS key, and is opened in Chromium
carrying the identity a load balancer signs (its public key served by a local stand-in for the load
balancer's key endpoint)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Browser, BrowserContext, Page

from bi_dashboard.pages import OVERVIEW_KPIS
from bi_infra.dashboard_task import task_environment
from bi_lake.settings import Settings
from bi_metrics.formatting import metric_text
from tests.dashboard.browsing import settled
from tests.dashboard.conftest import free_port, wait_until_healthy
from tests.dashboard.dockerfile import DOCKERFILE, DOCKERIGNORE, Dockerfile, DockerIgnore, copy_source
from tests.dashboard.test_browser import leaves_the_machine
from tests.dashboard.test_pages import SNAPSHOT
from tests.running import bi
from tests.s3.conftest import AWS_VARIABLES, LAYERS, REGION, AwsLake
from tests.s3.test_s3_lake import copy_gold

pytestmark = pytest.mark.spark

LOAD_BALANCER = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/bi-dashboard/0123456789abcdef"
)
KEY_ID = "4e1ccbd1-3a1b-4c1e-9a59-0d2b1c6f4a10"
EMAIL = "analyst@example.com"
IDENTITY_HEADER = "x-amzn-oidc-data"
ERROR = '[data-testid="stAlertContentError"]'


@dataclass(frozen=True)
class Image:
    source: Path  # the builder stage's work folder
    venv: Path
    builder_python: Path  # stands for the builder's /usr/local


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The builder stage played in order: its COPYs into a fresh folder and every RUN there, each with
    the ARGs and ENVs declared before it. The image's Python is a fresh venv of this interpreter (the
    same minor version), so the RUN installing uv installs the pinned uv into it; the project's venv is
    a fresh folder instead of /opt/venv."""
    ignore = DockerIgnore(DOCKERIGNORE)
    builder = Dockerfile(DOCKERFILE).stage("builder")
    root = tmp_path_factory.mktemp("image")
    source, venv, python = root / "src", root / "venv", root / "python"
    source.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(python)], check=True, timeout=300)
    outer = {k: v for k, v in os.environ.items()
             if not k.startswith(("UV_", "PIP_")) and k not in {"VIRTUAL_ENV", "PYTHONPATH"}}  # fmt: skip
    env = outer | {"PATH": f"{python / 'bin'}{os.pathsep}{outer['PATH']}"}
    for instruction in builder.instructions:
        if instruction.keyword in {"ARG", "ENV"}:
            env |= instruction.variables
            if "UV_PROJECT_ENVIRONMENT" in instruction.variables:
                env["UV_PROJECT_ENVIRONMENT"] = str(venv)
        elif instruction.keyword == "COPY" and "from" not in instruction.flags:
            *sources, destination = instruction.without_flags().split()
            for path in sources:
                copy_source(path, destination, ignore, source)
        elif instruction.keyword == "RUN":
            result = subprocess.run(
                ["/bin/sh", "-c", instruction.arguments], cwd=source, env=env, capture_output=True, text=True,
                timeout=900,
            )  # fmt: skip
            assert result.returncode == 0, f"{instruction.arguments}\n{result.stderr[-3000:]}"
    assert env["UV_PROJECT_ENVIRONMENT"] == str(venv)
    return Image(source, venv, python)


def test_the_image_holds_the_dashboard_and_nothing_of_spark(image: Image) -> None:
    probe = (
        "import importlib.util, json; print(json.dumps({n: getattr(importlib.util.find_spec(n), 'origin', None)"
        " for n in ('bi_dashboard', 'bi_metrics', 'bi_contracts', 'bi_lake', 'streamlit', 'pyspark', 'bi_transform', 'bi_cli')}))"
    )
    found = json.loads(
        subprocess.run(
            [str(image.venv / "bin" / "python"), "-c", probe],
            cwd=image.venv,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert found["pyspark"] is None and found["bi_transform"] is None and found["bi_cli"] is None
    for module in ("bi_dashboard", "bi_metrics", "bi_contracts", "bi_lake", "streamlit"):
        # Installed as wheels in the venv: the image has no source tree beside it.
        assert str(found[module]).startswith(str(image.venv)), found[module]
    assert not list(image.venv.glob("lib/python*/site-packages/pyspark*"))
    assert (image.venv / "bin" / "bi-dashboard").exists()
    uv = subprocess.run(
        [str(image.builder_python / "bin" / "uv"), "--version"], capture_output=True, text=True
    )
    (pinned,) = [a.variables["UV_VERSION"] for a in Dockerfile(DOCKERFILE).stage("builder").of("ARG")]
    assert uv.stdout.split()[:2] == ["uv", pinned], "the venv was installed by the uv the Dockerfile pins"
    # The folder held only what the Dockerfile copies.
    for left_out in (
        "tests",
        ".venv",
        "lake",
        ".git",
        "packages/transform/src",
        "packages/cli/src",
        "README.md",
    ):
        assert not (image.source / left_out).exists(), left_out


@pytest.fixture(scope="module")
def gold_on_s3(gold_lake: Settings, moto_endpoint: str) -> Iterator[AwsLake]:
    """The local Gold copied object by object to a bucket, each object SSE-KMS with the account's key."""
    with urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")):
        pass
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_VARIABLES:
            patch.delenv(name, raising=False)
        kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name=REGION,
                           aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        key_arn = kms.create_key(Description="business insights lake")["KeyMetadata"]["Arn"]
        lake = AwsLake(moto_endpoint, key_arn, {layer: f"bi-container-{layer}" for layer in LAYERS})
        for name, value in lake.env.items():
            if name.startswith("AWS_"):
                patch.setenv(name, value)
        s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
        for bucket in lake.buckets.values():
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        copy_gold(gold_lake, lake)
        gold = s3.list_objects_v2(Bucket=lake.buckets["gold"])["Contents"]
        head = s3.head_object(Bucket=lake.buckets["gold"], Key=gold[0]["Key"])
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
        yield lake


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    """The load balancer's key pair for this test: ES256 is P-256."""
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def public_keys_url(signing_key: ec.EllipticCurvePrivateKey) -> Iterator[str]:
    """The load balancer's public key endpoint as AWS serves it: the PEM of key <kid> at /<kid>."""
    pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == f"/{KEY_ID}"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/x-pem-file")
            self.end_headers()
            if found:
                self.wfile.write(pem)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def signed_identity(key: ec.EllipticCurvePrivateKey, *, signer: str = LOAD_BALANCER) -> str:
    """What the load balancer puts in x-amzn-oidc-data once the user signed in: an ES256 JWT whose
    header names the key and the load balancer that signed it."""
    expires = int(time.time()) + 600
    claims = {"sub": "user-1", "email": EMAIL, "groups": ["analysts"], "exp": expires,
              "iss": "https://idp.example.com"}  # fmt: skip
    header = {"kid": KEY_ID, "signer": signer, "client": "bi-dashboard", "iss": "https://idp.example.com",
              "exp": expires}  # fmt: skip
    return jwt.encode(claims, key, algorithm="ES256", headers=header)


@dataclass(frozen=True)
class Container:
    url: str
    log: Path
    start_seconds: float
    env: dict[str, str]


@pytest.fixture(scope="module")
def container(
    image: Image, gold_on_s3: AwsLake, public_keys_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    """The Dockerfile's CMD from the image's venv, with the image's ENV and the task definition's
    environment, plus what reaches moto instead of AWS (endpoint and credentials, which the task's role
    gives on AWS) and the stand-in key endpoint. The address and port are this machine's, not the
    task's: another server may hold 8501 here, and nothing outside should reach the test's server."""
    final = Dockerfile(DOCKERFILE).final
    (cmd,) = final.of("CMD")
    command = cmd.exec_form
    assert command, "CMD in exec form"
    home = tmp_path_factory.mktemp("home")
    port = free_port()
    outer = {k: v for k, v in os.environ.items()
             if not k.startswith(("BI_", "AWS_", "STREAMLIT_", "UV_")) and k not in {"VIRTUAL_ENV", "HOME"}}  # fmt: skip
    image_env = {
        name: value.replace("$PATH", outer["PATH"]).replace("/opt/venv", str(image.venv))
        for name, value in final.env.items()
    }
    env = outer | image_env | {"HOME": str(home)}
    env |= task_environment(
        gold_uri=f"s3://{gold_on_s3.buckets['gold']}",
        region=REGION,
        load_balancer_arn=LOAD_BALANCER,
        restaurant_access={},
        groups_claim="groups",
        catalog_namespace_prefix="",
    )
    env |= {
        "AWS_ENDPOINT_URL": gold_on_s3.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BI_DASHBOARD_PUBLIC_KEYS_URL": public_keys_url,
        "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
        "STREAMLIT_SERVER_PORT": str(port),
    }
    executable = shutil.which(command[0], path=env["PATH"])
    assert executable and Path(executable).parent == image.venv / "bin", executable
    log = home / "server.log"
    started = time.monotonic()
    with log.open("w") as output:
        server = subprocess.Popen(
            [executable, *command[1:]], env=env, cwd=home, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(url, server, log)
    yield Container(url, log, time.monotonic() - started, env)
    # What the container runtime sends on a stop; the server is the process it was sent to. The server
    # shuts down and then lets the signal end it, as a supervisor expects.
    server.send_signal(signal.SIGTERM)
    try:
        assert server.wait(timeout=20) in {0, -signal.SIGTERM}, log.read_text()[-3000:]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)


def test_the_images_health_check_passes_on_the_running_server(container: Container) -> None:
    (check,) = Dockerfile(DOCKERFILE).final.of("HEALTHCHECK")
    probe = json.loads(check.without_flags().removeprefix("CMD").strip())
    result = subprocess.run(probe, env=container.env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    # Healthy within the grace the check gives a starting container, or it would be replaced as failing.
    grace = float(check.flags["start-period"].removesuffix("s"))
    assert container.start_seconds < grace, f"healthy after {container.start_seconds:.1f} s"
    assert "external IP" not in container.log.read_text(), "the server looked itself up on the internet"


def _bi_query_on_s3(lake: AwsLake, *args: str) -> dict[str, Any]:
    result = bi("query", ",".join(OVERVIEW_KPIS), *args, "--format", "json", cwd=Path.cwd(), env=lake.env,
                clear=("BI_", "AWS_"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    (row,) = rows
    return row


class LoadBalancerStandIn:
    """What the load balancer does to every request it passes on: the identity header set to the one it
    signed, whatever the browser sent, on the WebSocket's handshake too (where Streamlit reads a
    session's headers). A browser's own extra headers are no stand-in for it: with Debian's Chromium
    150 they no longer reached the WebSocket's handshake, and the app rightly asked for sign-in."""

    def __init__(self, upstream: str, identity: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.header = f"{IDENTITY_HEADER}: {identity}".encode()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.upstream)
                threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
                threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        """Each request's head passed on with the header in place of any the browser sent, its body as
        it is; after a WebSocket's handshake, the connection's bytes as they are."""
        pending = b""
        with contextlib.suppress(OSError):
            while True:
                while b"\r\n\r\n" not in pending:
                    received = client.recv(65536)
                    if not received:
                        upstream.shutdown(socket.SHUT_WR)
                        return
                    pending += received
                head, pending = pending.split(b"\r\n\r\n", 1)
                request, *fields = head.split(b"\r\n")
                fields = [f for f in fields if not f.lower().startswith(IDENTITY_HEADER.encode() + b":")]
                upstream.sendall(b"\r\n".join([request, *fields, self.header]) + b"\r\n\r\n")
                named = {f.split(b":", 1)[0].strip().lower(): f.split(b":", 1)[1].strip() for f in fields}
                length = int(named.get(b"content-length", b"0"))
                while len(pending) < length:
                    received = client.recv(65536)
                    if not received:
                        return
                    pending += received
                upstream.sendall(pending[:length])
                pending = pending[length:]
                if named.get(b"upgrade", b"").lower() == b"websocket":
                    upstream.sendall(pending)
                    _pipe(client, upstream)
                    return


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while received := source.recv(65536):
            target.sendall(received)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def _open(
    browser: Browser, container: Container, identity: str | None
) -> tuple[BrowserContext, Page, list[str]]:
    """The app's main page, through the load balancer's stand-in adding `identity` (straight to the
    container, around the load balancer, without one)."""
    url = container.url
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    if identity is not None:
        load_balancer = LoadBalancerStandIn(container.url, identity)
        context.on("close", lambda _: load_balancer.close())
        url = load_balancer.url
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{url}/")
    return context, page, requested


def test_a_signed_in_user_sees_the_overview_of_the_gold_in_s3(
    container: Container, browser: Browser, gold_on_s3: AwsLake, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    context, page, requested = _open(browser, container, signed_identity(signing_key))
    settled(page, "Overview")
    page.locator('[data-testid="stMetricValue"]').nth(len(OVERVIEW_KPIS) - 1).wait_for()
    shown = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    start = SNAPSHOT - dt.timedelta(days=89)
    expected = _bi_query_on_s3(gold_on_s3, "--start", str(start), "--end", str(SNAPSHOT))
    assert shown == [metric_text(m, expected[m], short=True) for m in OVERVIEW_KPIS]
    assert page.get_by_text(f"Signed in as {EMAIL}").count() == 1
    assert page.locator(ERROR).count() == 0
    assert [url for url in requested if leaves_the_machine(url)] == []
    context.close()


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        ("forged", "sign-in failed: the identity's signature does not verify"),
        ("anonymous", "sign-in required"),
    ],
)
def test_without_the_load_balancers_signature_nothing_is_shown(
    container: Container, browser: Browser, who: str, refusal: str
) -> None:
    """A token signed by another key under the load balancer's key id and signer, or no token at all (a
    request that reached the container around the load balancer)."""
    identity = signed_identity(ec.generate_private_key(ec.SECP256R1())) if who == "forged" else None
    context, page, _ = _open(browser, container, identity)
    page.locator(ERROR).first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'",
        timeout=60_000,
    )
    assert refusal in page.locator(ERROR).first.inner_text()
    assert page.locator('[data-testid="stMetricValue"]').count() == 0
    assert page.get_by_text(EMAIL).count() == 0
    context.close()
