"""Client settings and the endpoint check of SPEC §7 (https only, except to loopback).

Pure values and validation; no I/O and no network. Credentials live in ``auth``.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass

import httpx

from reconciler import __version__
from reconciler.api.auth import BasicCredentials, OAuthCredentials
from reconciler.errors import ConfigError

DEFAULT_USER_AGENT = f"reconciler/{__version__}"
# The most an answer may weigh, decoded (issue 14 item 6): far above any page of targets or
# communications, far below what would exhaust a CI runner's memory.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8, ``::1`` and names under ``.localhost``.

    Names are never resolved here (no DNS). ``*.localhost`` is loopback by RFC 6761 and is
    what the in-process sandbox uses; ``CapillaryClient`` accepts it only with an injected
    transport, because a system resolver might still send such a name to DNS.
    """
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or is_localhost_subdomain(host):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_localhost_subdomain(host: str) -> bool:
    """``sandbox.localhost`` and the like (RFC 6761 special-use names)."""
    host = host.lower().rstrip(".")
    return host.endswith(".localhost") and len(host) > len(".localhost")


def check_endpoint(url: str) -> str:
    """Return ``url`` normalised (no trailing slash), or raise ``ConfigError``.

    ``https://`` is required unless the host is loopback, so a token never crosses a network
    in clear text. Userinfo, query strings and fragments are refused: credentials belong in the
    environment, and a query would be silently merged into every request. The host must be a
    well-formed name (valid IDNA, labels of 1 to 63 letters, digits and hyphens, at most 253
    characters) or IP address, and the port 1 to 65535: anything else would fail later, at the
    first request, as something less clear than this.
    """
    if not isinstance(url, str) or not url.isprintable():
        raise ConfigError("endpoint is not a valid URL (it contains control characters)")
    try:
        parsed = httpx.URL(url)
        scheme, raw_host, port = parsed.scheme, parsed.raw_host.decode("ascii"), parsed.port
        netloc = parsed.netloc.decode("ascii", "replace")
        host = parsed.host  # decodes "xn--" labels: invalid IDNA raises here, not at a request
    except (httpx.InvalidURL, TypeError, ValueError, UnicodeError):  # IDNAError is a ValueError
        raise ConfigError(
            "endpoint is not a valid URL (its host name is not valid, e.g. not valid IDNA)"
        ) from None
    if scheme not in ("https", "http") or not raw_host:
        raise ConfigError(
            "endpoint must be an absolute https:// URL, e.g. https://eu.api.capillarytech.com"
        )
    # Messages show scheme, host, port and path only: userinfo, query and fragment are where
    # a pasted secret would sit, and it may not be registered with the scrubber yet.
    shown = f"{scheme}://{netloc.rpartition('@')[2]}"
    shown += parsed.path.rstrip("/")
    shown = shown if len(shown) <= 120 else shown[:119] + "\u2026"
    if parsed.userinfo:
        raise ConfigError(
            f"endpoint {shown} must not contain a user name or password; "
            "credentials come from CAPILLARY_* environment variables"
        )
    if parsed.query or parsed.fragment or "?" in url or "#" in url:  # empty ones too
        raise ConfigError(f"endpoint {shown} must not have a query string or fragment")
    problem = host_problem(raw_host)
    if problem:
        raise ConfigError(f"endpoint {shown}: {problem}")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"endpoint {shown}: port {port} is not between 1 and 65535")
    if scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"endpoint {shown} uses plain http:// to a non-loopback host; "
            "use https:// (plain http is allowed only for localhost, 127.0.0.0/8 and ::1)"
        )
    return str(parsed).rstrip("/")


_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


def host_problem(raw_host: str) -> str | None:
    """Why ``raw_host`` (a URL's host as sent: IDNA-encoded, no brackets) is not a usable host
    name or IP address, or None. Pure; no DNS."""
    if ":" in raw_host:  # only an IPv6 literal has colons here
        if "%" in raw_host:
            return "host is an IPv6 address with a zone id, which cannot be used in a URL here"
        try:
            ipaddress.IPv6Address(raw_host)
        except ValueError:
            return "host is not a valid IPv6 address"
        return None
    name = raw_host.lower()
    name = name[:-1] if name.endswith(".") else name
    if not name:
        return "host name is empty"
    if len(name) > 253:
        return "host name is longer than 253 characters"
    labels = name.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):  # URL parsers and resolvers read it as IPv4
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            return "host ends in a number but is not a valid IPv4 address"
        return None
    for label in labels:
        if not _LABEL.fullmatch(label):
            return (
                "host name is not valid (each dot-separated part needs 1 to 63 letters, "
                "digits or hyphens, not starting or ending with a hyphen)"
            )
    return None


@dataclass(frozen=True)
class ClientSettings:
    """Everything the client needs; validated on construction so errors surface before I/O.

    ``breaker_threshold``: consecutive failed requests (5xx, connection errors, timeouts, broken
    bodies; throttling does not count) with no success in between after which the client stops
    sending for the rest of the run. ``None`` means ``max(10, 2 * parallelism)``, so the requests
    that were in flight together when an outage began cannot open it alone; ``0`` disables it.

    ``deadline``: seconds one attempt may take from connecting to the last byte of the answer
    (``read_timeout`` bounds each read only, so a server sending a byte at a time would never
    trip it). ``None`` means a little more than ``read_timeout`` (so that a server that says
    nothing is still reported as a read timeout). ``max_response_bytes``: the most an answer may
    weigh once decoded (gzip and deflate are decoded here, within that limit).
    """

    base_url: str
    credentials: BasicCredentials | OAuthCredentials
    parallelism: int = 8
    rate_limit_per_minute: float | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 60.0
    user_agent: str = DEFAULT_USER_AGENT
    breaker_threshold: int | None = None
    breaker_cooldown: float = 30.0
    adaptive: bool = True
    aimd_decrease: float = 0.5
    deadline: float | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", check_endpoint(self.base_url))
        if not isinstance(self.credentials, BasicCredentials | OAuthCredentials):
            raise ConfigError("credentials must be BasicCredentials or OAuthCredentials")
        _require(self.parallelism >= 1, "parallelism must be at least 1")
        _require(
            self.rate_limit_per_minute is None
            or (math.isfinite(self.rate_limit_per_minute) and self.rate_limit_per_minute > 0),
            "rateLimit must be a positive, finite number of requests per minute",
        )
        _require(
            all(math.isfinite(t) and t > 0 for t in (self.connect_timeout, self.read_timeout)),
            "timeouts must be positive, finite numbers of seconds",
        )
        _require(
            self.deadline is None or (math.isfinite(self.deadline) and self.deadline > 0),
            "deadline must be a positive number of seconds",
        )
        _require(
            type(self.max_response_bytes) is int and self.max_response_bytes > 0,
            "max_response_bytes must be a positive whole number of bytes",
        )
        _require(self.max_attempts >= 1, "max_attempts must be at least 1")
        _require(
            0 <= self.backoff_base <= self.backoff_cap < math.inf, "need 0 <= backoff_base <= cap"
        )
        _require(
            0 <= self.max_retry_after < math.inf, "max_retry_after must be finite, not negative"
        )
        _require(
            self.breaker_threshold is None or self.breaker_threshold >= 0,
            "breaker_threshold must not be negative",
        )
        _require(0 < self.aimd_decrease < 1, "aimd_decrease must be between 0 and 1")
        _require(bool(self.user_agent.strip()), "user_agent must not be empty")

    @property
    def effective_deadline(self) -> float:
        """Seconds one attempt may take in all (connect, send, the whole answer)."""
        if self.deadline is None:
            return round(self.read_timeout * 1.1 + 0.25, 3)
        return self.deadline

    @property
    def effective_breaker_threshold(self) -> int:
        """The breaker threshold after applying the ``None`` default (0: disabled)."""
        if self.breaker_threshold is None:
            return max(10, 2 * self.parallelism)
        return self.breaker_threshold


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
