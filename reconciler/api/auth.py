"""Credentials and the two ``httpx.Auth`` flows of SPEC §2: Basic (md5) and OAuth tokens.

Credentials come only from the environment (SPEC §7); every secret and token is registered
with ``redact`` the moment it exists, and no ``repr`` here ever shows one. The user name and
the client key are identifiers, not secrets: they are not registered (issue 14).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Literal

import httpx

from reconciler.api.envelope import classify
from reconciler.api.logs import log
from reconciler.api.retry import AttemptFailure
from reconciler.api.stats import ClientStats
from reconciler.assumptions import OAUTH_TOKEN_HEADER
from reconciler.errors import AuthError, ConfigError, ServerError
from reconciler.redact import (
    MASK,
    MIN_SECRET_LENGTH,
    check_secret,
    register,
    register_basic,
)

TOKEN_PATH = "/v3/oauth/token/generate"  # noqa: S105 - a URL path, not a password
# Request extension naming what a request is; the client's request hook counts by it.
KIND_EXTENSION = "reconciler.kind"
ENV_VARIABLES: dict[str, tuple[str, str]] = {
    "oauth": ("CAPILLARY_CLIENT_KEY", "CAPILLARY_CLIENT_SECRET"),
    "basic": ("CAPILLARY_USERNAME", "CAPILLARY_PASSWORD"),
}
# A token is renewed this share of its TTL early, but never more than 30 s early.
_RENEW_EARLY_SHARE = 0.2
_RENEW_EARLY_MAX = 30.0
# Used when the token endpoint omits ttlSeconds: short, so a wrong guess costs one renewal.
_DEFAULT_TTL = 60.0


@dataclass(frozen=True, repr=False)
class BasicCredentials:
    """Till user name and password; the password is sent only as its md5 hex digest."""

    username: str
    password: str

    def __post_init__(self) -> None:
        if not self.username or not self.password:
            raise ConfigError("Basic credentials need a user name and a password")
        # The password, its md5 and the Basic header value; never the user name, which is an
        # identifier that may appear in senders and templates.
        register_basic(self.username, self.password)

    def __repr__(self) -> str:
        return f"BasicCredentials(username={MASK}, password={MASK})"


@dataclass(frozen=True, repr=False)
class OAuthCredentials:
    """API client key and secret, exchanged for a token at ``TOKEN_PATH``."""

    key: str
    secret: str

    def __post_init__(self) -> None:
        if not self.key or not self.secret:
            raise ConfigError("OAuth credentials need a client key and a client secret")
        register(self.secret)  # not the key: an identifier

    def __repr__(self) -> str:
        return f"OAuthCredentials(key={MASK}, secret={MASK})"


Credentials = BasicCredentials | OAuthCredentials


def credentials_from_env(
    auth: Literal["oauth", "basic"], environ: Mapping[str, str] | None = None
) -> Credentials:
    """Read the credential variables of SPEC §7; a missing or empty one is named in the error."""
    env = os.environ if environ is None else environ
    if auth not in ENV_VARIABLES:
        raise ConfigError(f"auth must be 'oauth' or 'basic', not {auth!r}")
    first, second = ENV_VARIABLES[auth]
    missing = [name for name in (first, second) if not env.get(name)]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
            f"auth: {auth} reads {first} and {second} from the environment"
        )
    problem = check_secret(second, env[second])
    if problem:
        raise ConfigError(problem)
    if auth == "oauth":
        return OAuthCredentials(key=env[first], secret=env[second])
    return BasicCredentials(username=env[first], password=env[second])


def md5_hex(text: str) -> str:
    """Lowercase hex MD5, as Capillary's Basic auth demands (not a security choice of ours)."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def basic_authorization(username: str, password: str) -> str:
    """``Basic base64(username:md5_hex(password))``; the value is registered as a secret."""
    return f"Basic {register_basic(username, password)}"


class BasicAuth(httpx.Auth):
    """Adds the precomputed ``Authorization`` header; a 401 is final (nothing to renew)."""

    def __init__(self, credentials: BasicCredentials) -> None:
        self._header = basic_authorization(credentials.username, credentials.password)

    def __repr__(self) -> str:
        return "BasicAuth(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


@dataclass
class _Token:
    value: str = field(repr=False)
    renew_at: float  # on the injected monotonic clock


class OAuthAuth(httpx.Auth):
    """``X-CAP-API-OAUTH-TOKEN`` from the token endpoint: fetched lazily, renewed before expiry
    and once after a 401. One ``asyncio.Lock`` makes generation single-flight: concurrent
    requests that find no valid token wait for the one fetch instead of each starting their own.
    """

    def __init__(
        self,
        credentials: OAuthCredentials,
        *,
        token_url: str,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        stats: ClientStats | None = None,
        admit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._body = {"key": credentials.key, "secret": credentials.secret}
        # Awaited before each request this flow sends beyond the caller's own (the token
        # fetch, the resend after a 401): the run's rateLimit counts those too (issue 21).
        self._admit = admit
        self._token_url = token_url
        self._clock = clock
        self._wall_clock = wall_clock
        self._stats = stats if stats is not None else ClientStats()
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self._fetches = 0  # token fetches that have ended, well or not
        self._failure: AttemptFailure | None = None  # how the last one failed, if it did

    def __repr__(self) -> str:
        return "OAuthAuth(***)"

    def _fresh(self, rejected: str | None) -> str | None:
        token = self._token
        if token is None or token.value == rejected or self._clock() >= token.renew_at:
            return None
        return token.value

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        rejected: str | None = None
        while True:
            token = self._fresh(rejected)
            if token is None:
                fetches_before = self._fetches
                async with self._lock:
                    # Re-check under the lock: another request may have fetched one meanwhile.
                    token = self._fresh(rejected)
                    if token is None and self._fetches != fetches_before and self._failure:
                        # The fetch this request waited for was refused or answered badly: so
                        # is this attempt, without asking again at once. Its retry, after
                        # backoff, fetches anew. One failing fetch, not one per waiting request.
                        raise _again(self._failure)
                    if token is None:
                        started = self._clock()
                        failure: AttemptFailure | None = None
                        try:
                            if self._admit is not None:
                                await self._admit()
                            response = yield self._token_request(request)
                            await response.aread()
                            token = self._accept(response, started)
                        except AttemptFailure as raised:
                            failure = raised
                            raise
                        finally:  # also when the transport failed (then waiters try again)
                            self._fetches += 1
                            self._failure = failure
            request.headers[OAUTH_TOKEN_HEADER] = token
            if rejected is not None and self._admit is not None:
                await self._admit()  # the resend after a 401 is one more request
            response = yield request
            if response.status_code != 401 or rejected is not None:
                return  # a second 401 is the caller's AuthError: renewing again cannot help
            rejected = token
            self._stats.token_renewals_on_401 += 1
            log.debug("%s %s: 401, renewing the token once", request.method, request.url.path)

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        # Built by hand, so copy what the client would have added: the timeouts above all.
        return httpx.Request(
            "POST",
            self._token_url,
            json=self._body,
            headers={
                "Accept": "application/json",
                "User-Agent": request.headers.get("user-agent", "reconciler"),
            },
            extensions={
                "timeout": request.extensions.get("timeout", {}),
                KIND_EXTENSION: "token",
            },
        )

    def _accept(self, response: httpx.Response, started: float) -> str:
        """The token from a token-endpoint answer, or ``AttemptFailure``."""
        try:
            data = classify(response, write=False, now=self._wall_clock())
        except AttemptFailure as failure:
            if failure.status in (400, 401, 403):
                raise AttemptFailure(
                    AuthError,
                    f"OAuth token request rejected ({failure.detail}); check "
                    "CAPILLARY_CLIENT_KEY and CAPILLARY_CLIENT_SECRET and the client's access group",
                    reason="token-rejected",
                    retryable=False,
                    status=failure.status,
                ) from None
            failure.detail = f"OAuth token request failed: {failure.detail}"
            raise failure from None
        value = data.get("accessToken") if isinstance(data, dict) else None
        ttl = data.get("ttlSeconds", _DEFAULT_TTL) if isinstance(data, dict) else None
        if isinstance(value, str):
            register(value)  # before anything could print it
        if (
            not isinstance(value, str)
            or len(value) < MIN_SECRET_LENGTH
            or not _is_header_safe(value)
        ):
            raise AttemptFailure(
                ServerError,
                "OAuth token endpoint answered without a usable data.accessToken",
                reason="token-shape",
                retryable=False,
                status=response.status_code,
            )
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
            raise AttemptFailure(
                ServerError,
                "OAuth token endpoint answered without a positive data.ttlSeconds",
                reason="token-shape",
                retryable=False,
                status=response.status_code,
            )
        early = min(_RENEW_EARLY_MAX, _RENEW_EARLY_SHARE * float(ttl))
        self._token = _Token(value=value, renew_at=started + float(ttl) - early)
        log.debug("OAuth token obtained, valid %.0f s, renewed after %.1f s", ttl, ttl - early)
        return value


def _again(failure: AttemptFailure) -> AttemptFailure:
    """The same failure for another request (each raise gets its own exception object)."""
    return AttemptFailure(
        failure.error_type,
        failure.detail,
        reason=failure.reason,
        retryable=failure.retryable,
        status=failure.status,
        outage=failure.outage,
        throttled=failure.throttled,
        retry_after=failure.retry_after,
    )


def _is_header_safe(value: str) -> bool:
    """Visible ASCII only: anything else would fail (or split) the header it is sent in."""
    return value.isascii() and value.isprintable() and " " not in value


def make_auth(
    credentials: Credentials,
    *,
    base_url: str,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    stats: ClientStats | None = None,
    admit: Callable[[], Awaitable[None]] | None = None,
) -> httpx.Auth:
    """The flow for ``credentials``; the token URL sits under the same (checked) base URL.

    ``admit`` is awaited before each extra request an OAuth flow sends (token, resend)."""
    if isinstance(credentials, OAuthCredentials):
        return OAuthAuth(
            credentials,
            token_url=f"{base_url}{TOKEN_PATH}",
            clock=clock,
            wall_clock=wall_clock,
            stats=stats,
            admit=admit,
        )
    return BasicAuth(credentials)
