"""One API call: its attempts through the breaker, the limiter and the retries, each traced on
the wire, and the answer validated into wire models.

Owns the run's failure bookkeeping (stats, the fatal auth error); it knows no endpoint by name.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from reconciler.api.auth import KIND_EXTENSION, make_auth
from reconciler.api.bounds import BodyProblem, body_failure, deadline_failure, limit_body
from reconciler.api.envelope import (
    NO_DATA,
    classify,
    classify_transport_error,
    classify_unexpected,
)
from reconciler.api.limits import SLOW_START_WINDOW, AdaptiveLimiter
from reconciler.api.logs import log
from reconciler.api.retry import (
    AttemptFailure,
    CircuitBreaker,
    RetryPolicy,
    parse_quota,
    run_with_retries,
)
from reconciler.api.settings import ClientSettings
from reconciler.api.stats import ClientStats
from reconciler.api.transport import http_client
from reconciler.assumptions import THROTTLE_STATUSES
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    CircuitOpenError,
    PermissionDenied,
    ServerError,
)

M = TypeVar("M")

# Request extension carrying the per-attempt trace that the request hook fills in.
_TRACE_EXTENSION = "reconciler.trace"


@dataclass(frozen=True)
class RawAnswer:
    """An answer kept as it came (``Caller.call(raw=True)``): a 2xx, or a 4xx that is the
    server's deliberate word on the request (not 401, 403 or 429, which stay errors)."""

    status: int
    content: bytes


# 4xx answers that fail a raw call all the same: the credentials, or a throttle to wait out.
_NOT_RAW = frozenset({401, 403, 429})


_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/]*")
_PROBE_PATH = "/v3/targetGroups/12/targets/345/communications"


def _fast_url(base: httpx.URL, path: str) -> httpx.URL:
    """``base`` with ``path``, built from its parsed parts without parsing again: 1 µs, not
    13 (httpx's private ``_uri_reference``; ``_fast_url_works`` decides whether to use it)."""
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = base._uri_reference._replace(path=path)
    return url


def _fast_url_works(base_url: str) -> bool:
    """Whether ``_fast_url`` gives what httpx's own parse gives, here and in this httpx."""
    try:
        base = httpx.URL(base_url)
        fast = _fast_url(base, base.path.rstrip("/") + _PROBE_PATH)
        slow = httpx.URL(base_url + _PROBE_PATH)
        return (str(fast), fast.raw_path, fast.host, fast.port) == (
            str(slow),
            slow.raw_path,
            slow.host,
            slow.port,
        ) and fast == slow
    except Exception:  # a changed httpx: the parse it is
        return False


def _kept_raw(status: int) -> bool:
    return 200 <= status < 300 or (400 <= status < 500 and status not in _NOT_RAW)


@dataclass
class _Trace:
    """What happened to one attempt on the wire; filled in by the request hook."""

    attempt: int
    sent: int = 0  # times the API request itself (not a token request) went to the transport


class Caller:
    """Sends API requests for one ``CapillaryClient`` and turns every failure into an ``ApiError``.

    After an ``AuthError`` or ``PermissionDenied`` every later call fails fast with the same
    kind of error: the credentials will not get better during the run (SPEC §6, issue 10).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        rng: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.stats = ClientStats()
        self._wall_clock = wall_clock
        self._fatal: ApiError | None = None
        self._base = httpx.URL(settings.base_url)
        self._base_path = self._base.path.rstrip("/")
        self._fast_urls: bool | None = None
        self.limiter = AdaptiveLimiter(
            max_concurrency=settings.parallelism,
            rate_per_minute=settings.rate_limit_per_minute,
            adaptive=settings.adaptive,
            initial_concurrency=min(settings.parallelism, SLOW_START_WINDOW),
            decrease=settings.aimd_decrease,
            clock=clock,
            sleep=sleep,
        )
        self.breaker = CircuitBreaker(
            settings.effective_breaker_threshold, settings.breaker_cooldown, clock
        )
        self._policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_base,
            backoff_cap=settings.backoff_cap,
            max_retry_after=settings.max_retry_after,
            sleep=sleep,
            rng=rng,
        )
        self.http = http_client(
            settings,
            auth=make_auth(
                settings.credentials,
                base_url=settings.base_url,
                clock=clock,
                wall_clock=wall_clock,
                stats=self.stats,
                admit=self.limiter.admit_extra,
            ),
            transport=transport,
            on_request=self._on_request,
            on_response=self._on_response,
        )

    def url(self, path: str) -> httpx.URL:
        """The URL httpx would make of ``base_url`` and ``path``, in one parse instead of its
        three (issue 9: half of building a request). ``base_url`` is normalised: no trailing
        slash, query or fragment (``check_endpoint``); the paths are ours, ids only.

        Issue 21: without the parse, when the path is plain (letters, digits, ``/``) and this
        httpx builds URLs as ``_fast_url`` expects (checked once per client)."""
        if self._fast_urls is None:
            self._fast_urls = _fast_url_works(self.settings.base_url)
        if self._fast_urls and _PLAIN_PATH.fullmatch(path):
            return _fast_url(self._base, self._base_path + path)
        return httpx.URL(self.settings.base_url + path)

    async def call(
        self, method: str, path: str, *, body: bytes | None = None, raw: bool = False
    ) -> object:
        """The envelope's ``data`` for ``method path``, after as many attempts as allowed.

        With ``raw`` a ``RawAnswer`` instead: a 2xx or a deliberate 4xx is returned as it came,
        unread; everything else (5xx, transport errors, 401, 403, 429) is retried and fails as
        without it."""
        write = body is not None
        self.stats.calls += 1
        url = self.url(path)

        async def attempt(number: int) -> object:
            return await self._attempt(method, path, url, body, write=write, number=number, raw=raw)

        try:
            return await run_with_retries(
                attempt,
                policy=self._policy,
                method=method,
                path=path,
                breaker=self.breaker,
                on_retry=lambda failure, n, delay: self._on_retry(method, path, failure, n, delay),
            )
        except ApiError as error:
            self.stats.failures += 1
            if isinstance(error, AmbiguousWriteError):
                self.stats.ambiguous_writes += 1
            if isinstance(error, CircuitOpenError):
                self.stats.circuit_rejections += 1
            if isinstance(error, AuthError | PermissionDenied) and self._fatal is None:
                self._fatal = error
            log.debug("%s", error.message)
            raise

    def parse(
        self,
        adapter: TypeAdapter[M],
        data: object,
        method: str,
        path: str,
        *,
        write: bool = False,
        listing: bool = False,
    ) -> M:
        """Validate ``data`` into wire models; a mismatch is the server's fault, not ours.

        ``"data": null`` in a good answer to a list read is an empty list (SPEC §9). An
        envelope without ``data`` is never "nothing there" (SPEC §4: a failed read plans
        nothing), nor is a null answer to a write (its outcome is judged by a re-read).
        """
        problem = ""
        if data is None and listing and not write:
            return adapter.validate_python([])
        if data is None or data is NO_DATA:
            problem = "the envelope has no data"
        else:
            try:
                return adapter.validate_python(data)
            except ValidationError as exc:
                first = exc.errors(include_input=False, include_url=False)[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "data"
                problem = f"unexpected response shape at {where}: {first.get('msg', 'invalid')}"
        self.stats.failures += 1
        if write:
            self.stats.ambiguous_writes += 1
            raise AmbiguousWriteError(
                f"{problem}; the write may or may not have been committed; "
                "re-read the target before writing again",
                method=method,
                path=path,
            )
        raise ServerError(problem, method=method, path=path)

    async def _attempt(
        self,
        method: str,
        path: str,
        url: httpx.URL,
        body: bytes | None,
        *,
        write: bool,
        number: int,
        raw: bool = False,
    ) -> object:
        self._check_fatal(method, path)
        self.breaker.check(method, path)
        async with self.limiter.slot() as started:
            self.breaker.check(method, path)  # it may have opened while this call waited
            self.stats.attempts += 1
            trace = _Trace(attempt=number)
            request = self.http.build_request(
                method,
                url,
                content=body,
                extensions={_TRACE_EXTENSION: trace, KIND_EXTENSION: "write" if write else "read"},
            )
            failure: AttemptFailure | None = None
            data: object = None
            # One deadline for all of it, token fetch, connect, send and the whole answer: the
            # read timeout alone is per read, and a trickling server never trips it (issue 14).
            deadline = asyncio.timeout(self.settings.effective_deadline)
            try:
                async with deadline:
                    response = await self.http.send(request)
            except AttemptFailure as raised:  # the token endpoint failed inside the auth flow
                failure = raised
            except BodyProblem as problem:  # over the size limit, or a broken encoding
                failure = body_failure(problem, write=write, sent=trace.sent)
            except httpx.HTTPError as exc:
                failure = classify_transport_error(exc, write=write, sent=trace.sent)
            except ApiError:
                raise
            except TimeoutError as exc:
                if deadline.expired():
                    failure = deadline_failure(
                        self.settings.effective_deadline, write=write, sent=trace.sent
                    )
                else:
                    failure = classify_unexpected(exc, write=write, sent=trace.sent)
            except Exception as exc:  # e.g. an in-process app crashing: still an ApiError
                failure = classify_unexpected(exc, write=write, sent=trace.sent)
            else:
                if raw and _kept_raw(response.status_code):
                    data = RawAnswer(response.status_code, response.content)
                else:
                    try:
                        data = classify(response, write=write, now=self._wall_clock())
                    except AttemptFailure as raised:
                        failure = raised
                    else:
                        self._read_quota(response)
            self._feedback(failure, started)
        if failure is not None:
            raise failure  # outside the except blocks: no httpx exception rides along as context
        return data

    def _read_quota(self, response: httpx.Response) -> None:
        """Rate-limit headers, when the server sends them: a window about to be spent by the
        requests in flight holds new ones until it resets (no 429 needed to learn it)."""
        quota = parse_quota(response.headers, now=self._wall_clock())
        if quota is not None and quota[1] <= self.settings.max_retry_after:
            self.limiter.on_quota(*quota)

    def _feedback(self, failure: AttemptFailure | None, started: float) -> None:
        """Tell the breaker and the limiter how the attempt went."""
        if failure is None:
            self.breaker.record_success()
            self.limiter.on_success(started)
            return
        if failure.outage:
            self.breaker.record_failure(failure.detail)
        elif failure.status is not None and failure.status != 429:
            self.breaker.record_success()  # a deliberate answer (400, 404, ...): the API is up
        if failure.throttled:
            # A Retry-After beyond our patience fails this call fast; pausing every other call
            # for it would be exactly the CI stall that failing fast avoids.
            retry_after = failure.retry_after
            if retry_after is not None and retry_after > self.settings.max_retry_after:
                retry_after = None
            self.limiter.on_throttle(started, retry_after)

    def _check_fatal(self, method: str, path: str) -> None:
        fatal = self._fatal
        if fatal is not None:
            raise type(fatal)(
                f"not sent: the run stopped after an earlier error ({fatal.message})",
                status=fatal.status,
                method=method,
                path=path,
            )

    def _on_retry(
        self, method: str, path: str, failure: AttemptFailure, attempt: int, delay: float
    ) -> None:
        self.stats.retries[failure.reason] += 1
        log.debug(
            "%s %s: attempt %d/%d failed (%s); retrying in %.2f s",
            method,
            path,
            attempt,
            self.settings.max_attempts,
            failure.detail,
            delay,
        )

    async def _on_request(self, request: httpx.Request) -> None:
        self.stats.requests += 1
        kind = request.extensions.get(KIND_EXTENSION)
        if kind == "token":
            self.stats.token_requests += 1
        elif kind == "write":
            self.stats.writes += 1
        trace = request.extensions.get(_TRACE_EXTENSION)
        if isinstance(trace, _Trace):
            trace.sent += 1

    async def _on_response(self, response: httpx.Response) -> None:
        self.stats.responses += 1
        if response.status_code in THROTTLE_STATUSES:
            self.stats.throttled += 1
        request = response.request
        trace = request.extensions.get(_TRACE_EXTENSION)
        label = f"attempt {trace.attempt}" if isinstance(trace, _Trace) else "token"
        # Method, path and status only: never headers, bodies or query strings.
        log.debug("%s %s -> %d (%s)", request.method, request.url.path, response.status_code, label)
        # Before anything reads the body, token and 401 answers included (issue 14).
        limit_body(response, self.settings.max_response_bytes)
