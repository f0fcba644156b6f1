"""Retries of SPEC §6: full-jitter backoff, Retry-After, write safety and a run-wide breaker.

Decides *whether* and *when* to try again; it never sends anything itself. Waits go through an
injected sleep and clock so tests assert them without real time.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import TypeVar

from reconciler.api.logs import log
from reconciler.errors import ApiError, CircuitOpenError
from reconciler.redact import scrub

T = TypeVar("T")
SleepFn = Callable[[float], Awaitable[None]]
ClockFn = Callable[[], float]


def backoff_delay(attempt: int, *, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))].

    ``attempt`` is the number of the attempt that just failed (1 for the first).
    """
    exponent = min(max(attempt - 1, 0), 62)  # 2**62 * base is already far past any cap
    return rng() * min(cap, base * 2.0**exponent)


def parse_retry_after(value: str | None, *, now: float, date: str | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or ``None``.

    For the HTTP-date form the response's own ``Date`` header is the reference when present,
    so a skewed local clock cannot stretch or shrink the wait; otherwise ``now`` (epoch seconds).
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    when = _http_date(value)
    if when is None:
        return None
    reference = _http_date(date) if date else None
    return max(0.0, when - (reference if reference is not None else now))


# Rate-limit headers servers commonly send (the IETF draft's ``RateLimit-*`` and the older
# ``X-RateLimit-*``): requests left in the window, and when it resets.
_REMAINING = ("ratelimit-remaining", "x-ratelimit-remaining")
_RESET = ("ratelimit-reset", "x-ratelimit-reset")
_EPOCH = 1e9  # a reset above this is a point in time (epoch seconds), not a delay


def parse_quota(headers: Mapping[str, str], *, now: float) -> tuple[int, float] | None:
    """``(remaining, seconds until reset)`` from rate-limit headers, or ``None`` when either
    is missing or unreadable. A reset of epoch seconds is counted from the response's own
    ``Date`` when it has one (as for ``Retry-After``: a skewed local clock must not stretch
    or shrink the wait), else from ``now``."""
    remaining = next((headers[name] for name in _REMAINING if name in headers), None)
    reset = next((headers[name] for name in _RESET if name in headers), None)
    if remaining is None or reset is None:
        return None
    try:
        lefts = [int(part.strip()) for part in remaining.split(",")]
        resets = [float(part.strip()) for part in reset.split(",")]
    except ValueError:
        return None
    if not all(math.isfinite(value) and value >= 0 for value in resets):
        return None
    # Repeated headers (one per window, httpx joins them with ", "): the most constraining
    # window rules, a spent one (its reset the latest of the spent) before any with requests
    # left. Unpaired lists (one reset for several counts) pair every count with the last reset.
    pairs = [(left, resets[min(i, len(resets) - 1)]) for i, left in enumerate(lefts)]
    spent = [pair for pair in pairs if pair[0] <= 0]
    left, seconds = (min(p[0] for p in spent), max(p[1] for p in spent)) if spent else min(pairs)
    if seconds <= _EPOCH:
        return left, seconds
    date = headers.get("date")
    reference = _http_date(date) if date else None
    return left, max(0.0, seconds - (reference if reference is not None else now))


def _http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000": RFC 9110 dates are GMT anyway
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class AttemptFailure(Exception):
    """One failed attempt and how to treat it; never leaves ``reconciler.api``.

    ``error_type``/``detail``/``status`` build the error the caller gets if this is the last
    attempt. ``outage`` marks failures that count toward the breaker (the server or the network
    failed, not the request); ``throttled`` marks 429/503 for the adaptive limiter.
    """

    def __init__(
        self,
        error_type: type[ApiError],
        detail: str,
        *,
        reason: str,
        retryable: bool,
        status: int | None = None,
        outage: bool = False,
        throttled: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(scrub(detail))
        self.error_type = error_type
        self.detail = scrub(detail)
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.outage = outage
        self.throttled = throttled
        self.retry_after = retry_after

    def to_error(self, method: str, path: str, *, attempts: int, exhausted: bool) -> ApiError:
        """The caller's error; after retries it says how many attempts were made."""
        detail = self.detail
        if exhausted and attempts > 1:
            detail = f"gave up after {attempts} attempts: {detail}"
        return self.error_type(detail, status=self.status, method=method, path=path)


class CircuitBreaker:
    """Opens after ``threshold`` consecutive outage failures with no success in between.

    While open every call fails fast, so a full outage across many targets costs about
    ``threshold`` requests instead of targets times attempts. After ``cooldown`` seconds one probe
    is let through (half-open); its success closes the breaker, its failure re-opens it.
    """

    def __init__(self, threshold: int, cooldown: float, clock: ClockFn) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None
        self._probe_started: float | None = None
        self._last = ""

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def check(self, method: str, path: str) -> None:
        """Raise ``CircuitOpenError`` unless a request may be sent now."""
        if self._opened_at is None:
            return
        now = self._clock()
        # One caller probes per cooldown; the others keep failing fast. A probe that never
        # reported back (cancelled) does not block the next one for longer than a cooldown.
        probe_due = self._probe_started is None or now - self._probe_started >= self._cooldown
        if probe_due and now - self._opened_at >= self._cooldown:
            self._probe_started = now
            return
        raise CircuitOpenError(
            f"not sent: circuit open after {self._consecutive} consecutive failed requests "
            f"with no success in between (last: {self._last}); the API looks unavailable",
            method=method,
            path=path,
        )

    def record_success(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._probe_started = None

    def record_failure(self, description: str) -> None:
        self._consecutive += 1
        self._last = scrub(description)
        probing = self._probe_started is not None
        if self._threshold and (probing or self._consecutive >= self._threshold):
            if self._opened_at is None:
                log.debug("circuit breaker opens after %d failures", self._consecutive)
            self._opened_at = self._clock()
            self._probe_started = None


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt limit, backoff and the patience for ``Retry-After`` (SPEC §6)."""

    max_attempts: int
    backoff_base: float
    backoff_cap: float
    max_retry_after: float
    sleep: SleepFn
    rng: Callable[[], float]

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Wait before the next attempt: the jittered backoff, but never less than Retry-After."""
        jitter = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self.rng)
        return max(retry_after or 0.0, jitter)

    def should_retry(self, failure: AttemptFailure) -> bool:
        return failure.retryable and not self.retry_after_too_long(failure)

    def retry_after_too_long(self, failure: AttemptFailure) -> bool:
        return failure.retry_after is not None and failure.retry_after > self.max_retry_after


async def run_with_retries(
    attempt: Callable[[int], Awaitable[T]],
    *,
    policy: RetryPolicy,
    method: str,
    path: str,
    breaker: CircuitBreaker | None = None,
    on_retry: Callable[[AttemptFailure, int, float], None] | None = None,
) -> T:
    """Run ``attempt(n)`` until it returns, a failure is final, or attempts run out.

    ``attempt`` raises ``AttemptFailure`` for a failed try; any other exception (an ``ApiError``
    such as ``CircuitOpenError``) passes through untouched. Every error that leaves here is an
    ``ApiError`` built from the last failure, never the transport's own exception.
    """

    # A plain loop with tenacity's semantics (retry test, then the attempt limit, then the wait,
    # ``on_retry``, the sleep): tenacity's per-call set-up cost more than a whole request's own
    # client work (issue 21), and a first attempt that succeeds now costs one ``await``.
    number = 0
    while True:
        number += 1
        try:
            return await attempt(number)
        except AttemptFailure as raised:
            failure = raised
        if not policy.should_retry(failure) or number >= policy.max_attempts:
            break
        # An open breaker fails the next attempt fast anyway; sleeping first would only stall.
        delay = (
            0.0
            if breaker is not None and breaker.is_open
            else policy.delay(number, failure.retry_after)
        )
        if on_retry is not None:
            on_retry(failure, number, delay)
        await policy.sleep(delay)
    # Outside the except block: nothing from the transport rides along as context.
    raise _final_error(failure, policy, method, path, number)


def _final_error(
    failure: AttemptFailure, policy: RetryPolicy, method: str, path: str, attempts: int
) -> ApiError:
    if policy.retry_after_too_long(failure):
        return failure.error_type(
            f"the server asked to wait {failure.retry_after:.0f} s (Retry-After), longer than "
            f"the {policy.max_retry_after:.0f} s this run allows; failing now instead of "
            "stalling; try again later or lower rateLimit",
            status=failure.status,
            method=method,
            path=path,
        )
    return failure.to_error(method, path, attempts=attempts, exhausted=failure.retryable)
