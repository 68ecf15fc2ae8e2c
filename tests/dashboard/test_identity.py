"""The load balancer's signed identity: a token it signed opens the dashboard, anything else does not.

The load balancer's key server is a real HTTP server on this machine, serving the public half of a
P-256 key by key id, as the load balancer's regional key endpoint does."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bi_dashboard.identity import PublicKeys, SignInError, User, access_of, signed_in, verify
from bi_dashboard.settings import DashboardSettings, load_dashboard_settings
from bi_lake.errors import UserError
from bi_metrics.access import EVERYTHING, RestaurantAccess

ALB = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/acme-bi-dev-dashboard/50dc6c495c0c9188"
KEY_ID = "8a3b6d2e-5a4f-4c1e-9f3e-2b7c1d0e9a11"


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class KeyServer:
    """Serves public keys by id under its URL, and counts what it was asked."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                found = server.keys.get(self.path.lstrip("/"))
                self.send_response(200 if found else 404)
                self.end_headers()
                self.wfile.write(found or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    yield server
    server.http.shutdown()


@pytest.fixture
def alb_key(key_server: KeyServer) -> ec.EllipticCurvePrivateKey:
    key = new_key()
    key_server.keys[KEY_ID] = public_pem(key)
    return key


def settings(key_server: KeyServer, **overrides: Any) -> DashboardSettings:
    return DashboardSettings(
        **{
            "sign_in": "alb",
            "load_balancer_arn": ALB,
            "public_keys_url": key_server.url,
            "restaurant_access": {},
            **overrides,
        }
    )


def token(key: ec.EllipticCurvePrivateKey, claims: dict[str, Any] | None = None, **header: Any) -> str:
    """A token as the load balancer makes one: ES256, with its key id and its own ARN as signer."""
    payload = {"sub": "5f3e", "email": "ana@example.com", "exp": int(time.time()) + 120, **(claims or {})}
    headers = {"kid": KEY_ID, "signer": ALB, "iss": "https://idp.example.com", "client": "abc", **header}
    return jwt.encode(payload, key, algorithm="ES256", headers=headers)


def test_a_token_the_load_balancer_signed_names_the_user_and_groups(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    found = signed_in(
        {"X-Amzn-Oidc-Data": token(alb_key, {"groups": ["north", "ops"]})}, settings(key_server)
    )
    assert found == User(name="ana@example.com", groups=("north", "ops"), subject="5f3e")


def test_the_public_key_is_fetched_once_per_key_id(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    keys = PublicKeys(key_server.url)
    for _ in range(3):
        verify(token(alb_key), settings(key_server), keys)
    assert key_server.requests == [f"/{KEY_ID}"]


def test_a_token_signed_with_another_key_is_refused(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    with pytest.raises(SignInError, match="signature does not verify"):
        signed_in({"x-amzn-oidc-data": token(new_key())}, settings(key_server))


def test_a_token_from_another_load_balancer_is_refused(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    other = token(alb_key, signer=ALB.replace("50dc6c495c0c9188", "0000000000000000"))
    with pytest.raises(SignInError, match="another load balancer"):
        signed_in({"x-amzn-oidc-data": other}, settings(key_server))


def test_an_expired_token_is_refused(key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(SignInError, match="expired"):
        signed_in({"x-amzn-oidc-data": token(alb_key, {"exp": int(time.time()) - 60})}, settings(key_server))


def test_an_unsigned_or_symmetric_token_is_refused(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    # PyJWT reads the empty key as no key, the only key "none" takes (its annotation has no None).
    unsigned = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "", algorithm="none",
                          headers={"kid": KEY_ID, "signer": ALB})  # fmt: skip
    # Signed with the public key's text as an HMAC secret: the classic key-confusion forgery.
    confused = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "a-secret-long-enough-for-hmac-sha256!", algorithm="HS256",
                          headers={"kid": KEY_ID, "signer": ALB})  # fmt: skip
    for forged in (unsigned, confused, "not-a-token"):
        with pytest.raises(SignInError):
            signed_in({"x-amzn-oidc-data": forged}, settings(key_server))


def test_a_key_id_that_is_not_an_id_is_not_fetched(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    with pytest.raises(SignInError, match="unknown key"):
        signed_in({"x-amzn-oidc-data": token(alb_key, kid="../../elsewhere")}, settings(key_server))
    with pytest.raises(SignInError, match="has no key"):
        signed_in({"x-amzn-oidc-data": token(alb_key, kid="0000-missing")}, settings(key_server))
    assert key_server.requests == ["/0000-missing"]


def test_no_identity_behind_the_load_balancer_is_refused_and_none_is_read_locally(
    key_server: KeyServer,
) -> None:
    with pytest.raises(SignInError, match="sign-in required"):
        signed_in({}, settings(key_server))
    assert signed_in({"x-amzn-oidc-data": "anything"}, settings(key_server, sign_in="none")) is None
    assert key_server.requests == []


def test_groups_come_as_a_list_or_as_comma_separated_text(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    cognito = settings(key_server, groups_claim="custom:groups")
    found = signed_in({"x-amzn-oidc-data": token(alb_key, {"custom:groups": "north, south"})}, cognito)
    assert found is not None and found.groups == ("north", "south")


def test_restaurant_access_is_the_union_of_the_users_groups() -> None:
    access = DashboardSettings(restaurant_access={"north": ["r1", "r2"], "south": ["r3"], "hq": ["*"]})
    assert access_of(User("a", ("north", "south"), "s"), access) == RestaurantAccess.only({"r1", "r2", "r3"})
    assert access_of(User("a", ("north", "hq"), "s"), access) is EVERYTHING
    assert access_of(None, access) is EVERYTHING
    assert access_of(User("a", ("anyone",), "s"), DashboardSettings()) is EVERYTHING
    with pytest.raises(SignInError, match="no group with access"):
        access_of(User("a", ("guests",), "s"), access)


def test_restaurant_access_reads_json_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BI_DASHBOARD_RESTAURANT_ACCESS", '{"north": ["r1"]}')
    monkeypatch.setenv("BI_DASHBOARD_SIGN_IN", "alb")
    monkeypatch.setenv("BI_DASHBOARD_LOAD_BALANCER_ARN", ALB)
    assert DashboardSettings().restaurant_access == {"north": ["r1"]}


def test_a_malformed_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BI_DASHBOARD_RESTAURANT_ACCESS", "north=r1")
    with pytest.raises(UserError, match=r"^invalid setting BI_DASHBOARD_RESTAURANT_ACCESS: not valid JSON$"):
        load_dashboard_settings()


def padded_token(key: ec.EllipticCurvePrivateKey, claims: dict[str, Any]) -> str:
    """A token as the load balancer writes it: each part base64url *with* its `=` padding, the
    signature over the padded parts, raw r||s."""
    import base64
    import json

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode()

    header = {"typ": "JWT", "kid": KEY_ID, "alg": "ES256", "iss": "https://idp.example.com", "client": "abc",
              "signer": ALB, "exp": claims["exp"]}  # fmt: skip
    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{part(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def test_a_token_padded_as_the_load_balancer_pads_it_verifies(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    # A subject of the length that makes every part need padding.
    for subject in ("5f3e", "5f3e1", "5f3e12"):
        claims = {
            "sub": subject,
            "email": "ana@example.com",
            "exp": int(time.time()) + 120,
            "groups": ["north"],
        }
        token = padded_token(alb_key, claims)
        if all(part.endswith("=") for part in token.split(".")):
            break
    assert all(part.endswith("=") for part in token.split(".")), token
    found = signed_in({"x-amzn-oidc-data": token}, settings(key_server))
    assert found == User(name="ana@example.com", groups=("north",), subject=subject)
    with pytest.raises(SignInError, match="signature does not verify"):
        signed_in({"x-amzn-oidc-data": padded_token(new_key(), claims)}, settings(key_server))


def test_a_second_identity_header_is_refused(
    key_server: KeyServer, alb_key: ec.EllipticCurvePrivateKey
) -> None:
    class Repeated(dict[str, str]):
        def get_all(self, name: str) -> list[str]:
            return [token(alb_key), token(alb_key, {"email": "eve@example.com"})]

    with pytest.raises(SignInError, match="more than one identity"):
        signed_in(Repeated(), settings(key_server))


def test_sign_in_behind_the_load_balancer_needs_its_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BI_DASHBOARD_SIGN_IN", "alb")
    with pytest.raises(UserError, match="load_balancer_arn is required with sign_in=alb"):
        load_dashboard_settings()
