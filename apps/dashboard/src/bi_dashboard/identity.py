"""Who is signed in, as the Application Load Balancer in front of the dashboard says.

The load balancer signs every user in before a request reaches Streamlit, then passes the user's
claims in the `x-amzn-oidc-data` header: a JWT signed (ES256) with a key of the load balancer's, whose
public half it publishes by key id. Anyone who reaches the container some other way could send such a
header, so it is verified: the signature with the published key, the signer (this load balancer) and
the expiry. Behind the load balancer (`BI_DASHBOARD_SIGN_IN=alb`) a session without a valid identity
is refused; locally (`bi dashboard`) there is no sign-in and nothing is read.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from bi_dashboard.settings import EVERY_RESTAURANT, DashboardSettings
from bi_lake.errors import UserError
from bi_metrics.access import EVERYTHING, RestaurantAccess

IDENTITY_HEADER = "x-amzn-oidc-data"
# The load balancer's key ids are UUIDs: anything else is not asked for (it would name another URL).
_KEY_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")
KEY_FETCH_TIMEOUT_S = 5.0


class SignInError(UserError):
    """The session carries no identity the load balancer signed."""


@dataclass(frozen=True)
class User:
    """A signed-in user: how to call them, and their identity provider's groups."""

    name: str
    groups: tuple[str, ...]
    subject: str


class PublicKeys:
    """The load balancer's public keys, fetched once per key id (they do not change for an id)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key_id: str) -> str:
        if not _KEY_ID.fullmatch(key_id):
            raise SignInError("sign-in failed: the identity names an unknown key")
        with self._lock:
            if key_id not in self._keys:
                self._keys[key_id] = self._fetch(key_id)
            return self._keys[key_id]

    def _fetch(self, key_id: str) -> str:
        url = f"{self.base_url}/{key_id}"
        try:
            with urllib.request.urlopen(url, timeout=KEY_FETCH_TIMEOUT_S) as response:
                return bytes(response.read()).decode("ascii")
        except urllib.error.HTTPError as exc:
            raise SignInError(f"sign-in failed: the load balancer has no key {key_id} ({exc.code})") from None
        except (OSError, UnicodeDecodeError) as exc:
            # The server cannot check anyone: say so, rather than blaming the user.
            raise UserError(f"cannot reach the load balancer's public keys at {url}: {exc}") from None


_keys_by_url: dict[str, PublicKeys] = {}


def public_keys(settings: DashboardSettings) -> PublicKeys:
    """One key cache per key location, shared by every session of the server."""
    url = settings.keys_url
    return _keys_by_url.setdefault(url, PublicKeys(url))


def verify(token: str, settings: DashboardSettings, keys: PublicKeys) -> User:
    """The user a load balancer's token names, or SignInError when the token is not one it signed."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise SignInError("sign-in failed: the identity header is not a signed token") from None
    if header.get("alg") != "ES256":
        raise SignInError("sign-in failed: the identity is not signed as the load balancer signs")
    if header.get("signer") != settings.load_balancer_arn:
        raise SignInError("sign-in failed: the identity was signed by another load balancer")
    key = keys.get(str(header.get("kid", "")))
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=["ES256"], options={"require": ["exp"], "verify_aud": False}
        )
    except jwt.ExpiredSignatureError:
        raise SignInError("sign-in expired: reload the page to sign in again") from None
    except jwt.InvalidTokenError:
        raise SignInError("sign-in failed: the identity's signature does not verify") from None
    return _user(claims, settings.groups_claim)


def _user(claims: Mapping[str, Any], groups_claim: str) -> User:
    subject = str(claims.get("sub", ""))
    name = next(
        (str(claims[c]) for c in ("email", "preferred_username", "username", "name") if claims.get(c)),
        subject,
    )
    if not name:
        raise SignInError("sign-in failed: the identity names no user")
    return User(name=name, groups=_groups(claims.get(groups_claim)), subject=subject)


def _groups(value: Any) -> tuple[str, ...]:
    """A list claim, or the comma-separated text an identity provider's user attribute holds."""
    if isinstance(value, str):
        parts: Sequence[Any] = value.strip("[]").split(",")
    elif isinstance(value, list | tuple):
        parts = value
    else:
        return ()
    return tuple(dict.fromkeys(str(p).strip().strip('"') for p in parts if str(p).strip().strip('"')))


def access_of(user: User | None, settings: DashboardSettings) -> RestaurantAccess:
    """The restaurants a user may see: every one without a user or without a mapping; otherwise the
    union of their groups' restaurants (none when no group of theirs is mapped)."""
    if user is None or not settings.restaurant_access:
        return EVERYTHING
    allowed: set[str] = set()
    for group in user.groups:
        restaurants = settings.restaurant_access.get(group, [])
        if EVERY_RESTAURANT in restaurants:
            return EVERYTHING
        allowed.update(restaurants)
    if not allowed:
        raise SignInError(
            f"{user.name} is signed in but belongs to no group with access to any restaurant: "
            "ask an administrator for access"
        )
    return RestaurantAccess.only(allowed)


def _values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of a header, whatever its case (Streamlit's headers keep repeated ones)."""
    every = getattr(headers, "get_all", None)
    if callable(every):
        return [str(value) for value in every(name) if value]
    return [value for key, value in headers.items() if key.lower() == name and value]


def signed_in(headers: Mapping[str, str], settings: DashboardSettings) -> User | None:
    """The session's user; None when the dashboard has no sign-in (a local `bi dashboard`)."""
    if settings.sign_in == "none":
        return None
    tokens = _values(headers, IDENTITY_HEADER)
    if not tokens:
        raise SignInError("sign-in required: open the dashboard through its address, which signs you in")
    if len(tokens) > 1:
        # The load balancer sends one; a second copy came from somewhere else.
        raise SignInError("sign-in failed: the request carries more than one identity")
    token = tokens[0]
    return verify(token, settings, public_keys(settings))
