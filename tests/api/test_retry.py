"""Pure unit tests of backoff, Retry-After parsing and the circuit breaker; no server, no time."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.api.retry import CircuitBreaker, RetryPolicy, backoff_delay, parse_retry_after
from reconciler.errors import CircuitOpenError


async def _no_sleep(seconds: float) -> None:
    return None


@given(attempt=st.integers(1, 200), u=st.floats(0, 1))
def test_full_jitter_stays_within_the_capped_exponential_window(attempt: int, u: float) -> None:
    delay = backoff_delay(attempt, base=0.5, cap=30.0, rng=lambda: u)
    assert 0.0 <= delay <= min(30.0, 0.5 * 2 ** (attempt - 1))


def test_full_jitter_window_doubles_until_the_cap() -> None:
    top = [backoff_delay(n, base=0.5, cap=30.0, rng=lambda: 1.0) for n in range(1, 9)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff_delay(3, base=0.5, cap=30.0, rng=lambda: 0.0) == 0.0


def test_wait_is_the_larger_of_retry_after_and_the_jitter() -> None:
    policy = RetryPolicy(5, 0.5, 30.0, 60.0, _no_sleep, rng=lambda: 1.0)
    assert policy.delay(1, retry_after=2.0) == 2.0  # jitter 0.5 < Retry-After 2
    assert policy.delay(4, retry_after=2.0) == 4.0  # jitter 4 > Retry-After 2
    assert policy.delay(1, retry_after=None) == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), (" 0 ", 0.0), ("1.5", 1.5), ("120", 120.0), ("-1", None), ("soon", None)],
)
def test_retry_after_in_seconds(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=0.0) == expected


def test_retry_after_missing_or_not_finite_is_ignored() -> None:
    assert parse_retry_after(None, now=0.0) is None
    assert parse_retry_after("", now=0.0) is None
    assert parse_retry_after("inf", now=0.0) is None
    assert parse_retry_after("nan", now=0.0) is None


def test_retry_after_http_date_is_measured_from_the_response_date() -> None:
    # The local clock is far off (now=0); the server's own Date header is the reference.
    date = email.utils.formatdate(1_750_000_000, usegmt=True)
    later = email.utils.formatdate(1_750_000_003, usegmt=True)
    assert parse_retry_after(later, now=0.0, date=date) == pytest.approx(3.0)


def test_retry_after_http_date_without_a_date_header_uses_the_wall_clock() -> None:
    later = email.utils.formatdate(1_750_000_005, usegmt=True)
    assert parse_retry_after(later, now=1_750_000_000.0) == pytest.approx(5.0)
    # A date in the past means "now", never a negative wait.
    assert parse_retry_after(later, now=1_750_000_100.0) == 0.0


def test_breaker_opens_after_threshold_consecutive_failures_and_fails_fast() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown=30.0, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure("HTTP 502")
        breaker.check("GET", "/x")  # still closed
    breaker.record_success()  # a success in between resets the count
    for _ in range(3):
        breaker.record_failure("HTTP 502")
    with pytest.raises(CircuitOpenError, match="circuit open after 3 consecutive failed requests"):
        breaker.check("GET", "/x")


def test_breaker_lets_one_probe_through_after_the_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown=30.0, clock=lambda: now[0])
    breaker.record_failure("a")
    breaker.record_failure("b")
    now[0] = 31.0
    breaker.check("GET", "/probe")  # the one probe
    with pytest.raises(CircuitOpenError):
        breaker.check("GET", "/other")  # everyone else still fails fast
    breaker.record_failure("probe failed")
    with pytest.raises(CircuitOpenError):
        breaker.check("GET", "/x")  # re-opened with a fresh cooldown
    now[0] = 62.0
    breaker.check("GET", "/probe2")
    breaker.record_success()
    breaker.check("GET", "/x")  # closed again


def test_breaker_threshold_zero_never_opens() -> None:
    breaker = CircuitBreaker(threshold=0, cooldown=30.0, clock=lambda: 0.0)
    for _ in range(1000):
        breaker.record_failure("x")
    breaker.check("GET", "/x")


def test_a_probe_that_never_reports_back_does_not_block_the_breaker_forever() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, cooldown=10.0, clock=lambda: now[0])
    breaker.record_failure("down")
    now[0] = 10.0
    breaker.check("GET", "/probe")  # this probe is cancelled and never records anything
    with pytest.raises(CircuitOpenError):
        breaker.check("GET", "/x")
    now[0] = 20.0
    breaker.check("GET", "/probe-again")
