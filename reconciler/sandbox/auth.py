"""Sandbox credentials and how a request proves them: Basic with md5, or an OAuth token (SPEC §2).

Demo credentials (not secrets: they open nothing but the local sandbox; the README lists them):

    Basic  username ``demo``           password ``demo-password``           read and write
    Basic  username ``demo-readonly``  password ``demo-readonly-password``  read only (403 on writes)
    OAuth  key ``demo-key``            secret ``demo-secret``               read and write
    OAuth  key ``demo-readonly-key``   secret ``demo-readonly-secret``      read only

Basic sends ``Authorization: Basic base64(username + ":" + md5_hex(password))``. OAuth first
calls ``POST /v3/oauth/token/generate`` with ``{"key", "secret"}`` and sends the token as
``X-CAP-API-OAUTH-TOKEN``; tokens expire after the app's ``token_ttl`` seconds (default 300).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.sandbox.envelope import UNAUTHORIZED, ApiFailure
from reconciler.sandbox.models import ActorJSON, TokenJSON, TokenRequest
from reconciler.sandbox.store import Store

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 -- a documented demo credential
DEMO_CLIENT_KEY = "demo-key"
DEMO_CLIENT_SECRET = "demo-secret"  # noqa: S105 -- a documented demo credential
READONLY_USERNAME = "demo-readonly"
READONLY_PASSWORD = "demo-readonly-password"  # noqa: S105 -- a documented demo credential
READONLY_CLIENT_KEY = "demo-readonly-key"
READONLY_CLIENT_SECRET = "demo-readonly-secret"  # noqa: S105 -- a documented demo credential
DEFAULT_TOKEN_TTL = 300


def till(id: int, code: str) -> ActorJSON:
    """An attribution actor of type TILL, the identity API credentials act as."""
    return {"id": id, "code": code, "description": "", "name": code, "type": "TILL"}


@dataclass(frozen=True)
class User:
    """A Basic-auth login (a till's username and password)."""

    username: str
    password: str
    actor: ActorJSON
    can_write: bool = True

    def __repr__(self) -> str:  # never show the password
        return f"User({self.username!r}, can_write={self.can_write})"


@dataclass(frozen=True)
class Client:
    """An OAuth API client (key and secret); it acts as its default till."""

    key: str
    secret: str
    actor: ActorJSON
    can_write: bool = True

    def __repr__(self) -> str:  # never show the key or the secret
        return f"Client({self.actor['name']!r}, can_write={self.can_write})"


@dataclass(frozen=True)
class Credentials:
    """Every login the sandbox accepts."""

    users: tuple[User, ...] = ()
    clients: tuple[Client, ...] = ()

    def plus(self, *extra: User | Client) -> Credentials:
        """These credentials and ``extra`` (e.g. a read-only user for a permission test)."""
        users = self.users + tuple(e for e in extra if isinstance(e, User))
        clients = self.clients + tuple(e for e in extra if isinstance(e, Client))
        return Credentials(users, clients)

    def user(self, username: str) -> User | None:
        return next((u for u in self.users if u.username == username), None)

    def client(self, key: str) -> Client | None:
        return next((c for c in self.clients if _same(c.key, key)), None)


DEMO_CREDENTIALS = Credentials(
    users=(
        User(DEMO_USERNAME, DEMO_PASSWORD, till(75155301, "demo")),
        User(READONLY_USERNAME, READONLY_PASSWORD, till(75155302, "demo_readonly"), False),
    ),
    clients=(
        Client(DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET, till(75155311, "demo_api_till")),
        Client(
            READONLY_CLIENT_KEY, READONLY_CLIENT_SECRET, till(75155312, "demo_readonly_till"), False
        ),
    ),
)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. ``credential`` names the login (never a secret); it keys rate limits."""

    actor: ActorJSON
    can_write: bool
    credential: str


def md5_hex(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()


def basic_header(username: str, password: str) -> str:
    """The ``Authorization`` value Capillary expects for a till login."""
    raw = f"{username}:{md5_hex(password)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Authenticator:
    """Checks credentials on every request and issues OAuth tokens (stored hashed in the store)."""

    def __init__(
        self,
        store: Store,
        credentials: Credentials = DEMO_CREDENTIALS,
        token_ttl: int = DEFAULT_TOKEN_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token_ttl < 1:
            raise ValueError("token_ttl must be at least 1 second")
        self.store = store
        self.credentials = credentials
        self.token_ttl = token_ttl
        self.clock = clock

    def authenticate(self, authorization: str | None, token: str | None) -> Principal:
        """The principal of a request, or ``ApiFailure`` 401. A token wins over Basic."""
        if token:
            return self._from_token(token)
        if authorization:
            return self._from_basic(authorization)
        raise _unauthorized(
            "authentication required: send 'Authorization: Basic …' or 'X-CAP-API-OAUTH-TOKEN'"
        )

    def issue_token(self, request: TokenRequest) -> TokenJSON:
        client = self.credentials.client(request.key)
        if client is None or not _same(client.secret, request.secret):
            raise _unauthorized("Failed to generate OAuth token: invalid key or secret")
        issued = self.clock()
        token = _new_token(client.actor, issued, issued + self.token_ttl)
        self.store.save_token(_digest(token), client.key, issued + self.token_ttl)
        return {"accessToken": token, "ttlSeconds": self.token_ttl}

    def _from_token(self, token: str) -> Principal:
        found = self.store.token(_digest(token))
        client = self.credentials.client(found[0]) if found else None
        if found is None or client is None:
            raise _unauthorized("invalid OAuth token")
        if found[1] <= self.clock():
            raise _unauthorized("OAuth token expired; generate a new one")
        return Principal(client.actor, client.can_write, f"oauth:{client.actor['name']}")

    def _from_basic(self, authorization: str) -> Principal:
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise _unauthorized("unsupported authorization scheme; use Basic or an OAuth token")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized("malformed Basic credentials") from None
        username, colon, password_md5 = decoded.partition(":")
        user = self.credentials.user(username) if colon else None
        expected = md5_hex(user.password) if user else md5_hex(secrets.token_hex(8))
        # Compared even for an unknown user, so timing does not reveal which usernames exist.
        if not _same(expected, password_md5.lower()) or user is None:
            raise _unauthorized("invalid username or password")
        return Principal(user.actor, user.can_write, f"basic:{user.username}")


def _same(known: str, given: str) -> bool:
    """Constant-time comparison; bytes, because ``compare_digest`` refuses non-ASCII text."""
    return hmac.compare_digest(known.encode(), given.encode())


def _unauthorized(message: str) -> ApiFailure:
    return ApiFailure(401, UNAUTHORIZED, message)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64url(document: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def _new_token(actor: ActorJSON, issued: float, expires: float) -> str:
    """A JWT-shaped token like Capillary's (RS256 header, claims); the signature is random."""
    header = _b64url({"alg": "RS256", "kid": "k1", "typ": "JWT"})
    claims = _b64url(
        {
            "iss": "Capillary",
            "sub": actor["code"],
            "iat": int(issued),
            "exp": int(expires),
            "token_use": "token_access",
            "jti": secrets.token_hex(8),
        }
    )
    return f"{header}.{claims}.{secrets.token_urlsafe(32)}"
