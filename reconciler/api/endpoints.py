"""The async Capillary v3 client: one typed method per SPEC §2 endpoint, envelope unwrapped.

Callers see wire models or an ``ApiError`` subclass, never an httpx exception, a header or a
secret; how a request is sent, retried and limited is ``calls``' and ``transport``'s business.
"""

from __future__ import annotations

import asyncio
import json
import operator
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, TypeVar

import httpx
from pydantic import TypeAdapter

from reconciler.api.calls import Caller, RawAnswer
from reconciler.api.envelope import excerpt
from reconciler.api.ownership import describe_foreign, foreign_row
from reconciler.api.settings import ClientSettings, is_localhost_subdomain
from reconciler.api.wire import Channel, Communication, CommunicationWrite, Target, TargetGroup
from reconciler.errors import ApiValidationError, ConfigError, ServerError

M = TypeVar("M")

_TARGET_GROUPS: TypeAdapter[list[TargetGroup]] = TypeAdapter(list[TargetGroup])
_TARGET_GROUP: TypeAdapter[TargetGroup] = TypeAdapter(TargetGroup)
_TARGETS: TypeAdapter[list[Target]] = TypeAdapter(list[Target])
_CHANNELS: TypeAdapter[list[Channel]] = TypeAdapter(list[Channel])
_COMMUNICATIONS: TypeAdapter[list[Communication]] = TypeAdapter(list[Communication])
_COMMUNICATION: TypeAdapter[Communication] = TypeAdapter(Communication)
# What ``exchange`` may be pointed at: an API path of ids and names, no query, no dot segment.
_EXCHANGE_PATH = re.compile(r"/v3(?:/[A-Za-z0-9_-]+)+")


@dataclass(frozen=True)
class Exchange:
    """One request and its answer as they were: the evidence ``reconciler probe`` shows.

    ``request_body`` is the JSON value sent (None for a read); ``response_body`` the JSON
    value answered, or, for a body that is not JSON, a short scrubbed excerpt of it."""

    method: str
    path: str
    status: int
    request_body: object
    response_body: object


class CapillaryClient:
    """Async client over one ``httpx.AsyncClient``; use as ``async with CapillaryClient(...)``.

    ``transport`` is the seam for the in-process sandbox and for test transports. ``sleep``,
    ``clock`` (monotonic), ``wall_clock`` (epoch, for HTTP-date ``Retry-After``) and ``rng``
    (jitter) are injectable so tests can assert waits without real time.

    After an ``AuthError`` or ``PermissionDenied`` every later call fails fast with the same
    kind of error: the credentials will not get better during the run (SPEC §6, issue 10).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if transport is None and is_localhost_subdomain(httpx.URL(settings.base_url).host):
            raise ConfigError(
                f"endpoint {settings.base_url!r} names a *.localhost host, which only the "
                "in-process sandbox transport may use; over the network use http://127.0.0.1"
            )
        self._calls = Caller(
            settings, transport=transport, sleep=sleep, clock=clock, wall_clock=wall_clock, rng=rng
        )
        self.settings = settings
        self.stats = self._calls.stats
        self.limiter = self._calls.limiter
        self.breaker = self._calls.breaker

    def __repr__(self) -> str:
        kind = type(self.settings.credentials).__name__
        return f"CapillaryClient(base_url={self.settings.base_url!r}, credentials={kind})"

    async def __aenter__(self) -> CapillaryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._calls.http.aclose()

    # --- endpoints (SPEC §2) -------------------------------------------------------------

    async def list_target_groups(self) -> list[TargetGroup]:
        return await self._read(_TARGET_GROUPS, "/v3/targetGroups", listing=True)

    async def get_target_group(self, group_id: int) -> TargetGroup:
        path = f"/v3/targetGroups/{_id(group_id, 'target group id')}"
        return await self._read(_TARGET_GROUP, path)

    async def list_targets(self, group_id: int) -> list[Target]:
        path = f"/v3/targetGroups/{_id(group_id, 'target group id')}/targets"
        return await self._read(_TARGETS, path, listing=True)

    async def list_channels(self) -> list[Channel]:
        return await self._read(_CHANNELS, "/v3/targetGroups/channels", listing=True)

    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]:
        """A target's communications; a row that names another target fails the read (SPEC §4:
        it is not this target's state, so nothing may be planned or pruned from it)."""
        path = _communications_path(group_id, target_id)
        rows = await self._read(_COMMUNICATIONS, path, listing=True)
        foreign = foreign_row(rows, group_id, target_id)
        if foreign is not None:
            self.stats.failures += 1
            raise ServerError(
                f"the API answered with a row of another target: "
                f"{describe_foreign(foreign, group_id, target_id)}",
                method="GET",
                path=path,
            )
        return rows

    async def upsert_communications(
        self, group_id: int, target_id: int, writes: Sequence[CommunicationWrite]
    ) -> list[Communication]:
        """Send all of one target's writes in one request; returns what the API stored.

        Raises ``AmbiguousWriteError`` when the request may have been committed (timeout, 5xx,
        dropped connection, unreadable answer); it is never resent then. An empty ``writes``
        sends nothing and returns ``[]``.
        """
        path = f"{_communications_path(group_id, target_id)}/upsert"
        if not writes:
            return []
        body = json.dumps([w.to_body() for w in writes], separators=(",", ":")).encode()
        data = await self._calls.call("POST", path, body=body)
        return self._calls.parse(_COMMUNICATIONS, data, "POST", path, write=True)

    async def upsert_communication(
        self, group_id: int, target_id: int, write: CommunicationWrite
    ) -> Communication:
        """Send one communication as a single JSON object, for an API whose upsert takes no
        array (contract ``body: object``); the same rules as ``upsert_communications``."""
        path = f"{_communications_path(group_id, target_id)}/upsert"
        body = json.dumps(write.to_body(), separators=(",", ":")).encode()
        data = await self._calls.call("POST", path, body=body)
        return self._calls.parse(_COMMUNICATION, data, "POST", path, write=True)

    async def exchange(
        self, method: Literal["GET", "POST"], path: str, body: object = None
    ) -> Exchange:
        """Send one request and return its status and body as they are, a 4xx included, through
        the same authentication, limits and retries as every call (for evidence, not for state).

        401, 403, 429 and failures that retries do not overcome still raise their ``ApiError``;
        a POST that may have been committed raises ``AmbiguousWriteError``, never resent."""
        if not _EXCHANGE_PATH.fullmatch(path):
            raise ApiValidationError(f"not an API path: {path!r}")
        content = None
        if method == "POST":
            content = json.dumps(body, separators=(",", ":")).encode()
        answer = await self._calls.call(method, path, body=content, raw=True)
        assert isinstance(answer, RawAnswer)
        try:
            parsed: object = json.loads(answer.content)
        except (ValueError, UnicodeDecodeError):
            parsed = excerpt(answer.content, 300)
        return Exchange(method, path, answer.status, body if method == "POST" else None, parsed)

    async def _read(self, adapter: TypeAdapter[M], path: str, *, listing: bool = False) -> M:
        data = await self._calls.call("GET", path)
        return self._calls.parse(adapter, data, "GET", path, listing=listing)


def _id(value: int, what: str) -> int:
    """Ids go into URL paths, so only true integers are accepted (no "1/../2")."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise ApiValidationError(f"{what} must be an integer, not {value!r}") from None


def _communications_path(group_id: int, target_id: int) -> str:
    group, target = _id(group_id, "target group id"), _id(target_id, "target id")
    return f"/v3/targetGroups/{group}/targets/{target}/communications"
