"""Concurrency, the hard rate ceiling and AIMD adaptation (issue 9) of one client."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from apikit import FakeTime, envelope, settings

from reconciler.api import CapillaryClient
from reconciler.api.limits import AdaptiveLimiter

pytestmark = pytest.mark.anyio


async def test_at_most_parallelism_requests_are_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return envelope([])

    async with CapillaryClient(
        settings(parallelism=4), transport=httpx.MockTransport(handler)
    ) as client:
        await asyncio.gather(*(client.get_communications(1, n) for n in range(30)))
    assert peak == 4


async def test_the_rate_limit_is_a_hard_ceiling() -> None:
    # 1200 per minute: one request every 50 ms, no burst.
    async with CapillaryClient(
        settings(rate_limit_per_minute=1200),
        transport=httpx.MockTransport(lambda r: envelope([])),
    ) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.get_communications(1, n) for n in range(8)))
        elapsed = time.monotonic() - started
    assert elapsed >= 7 * 0.05 * 0.9  # 8 requests need 7 intervals (10% for timer slack)


async def test_throttling_halves_concurrency_once_per_episode(fake_time: FakeTime) -> None:
    limiter = AdaptiveLimiter(max_concurrency=8, clock=fake_time.clock, sleep=fake_time.sleep)
    async with limiter.slot() as first:
        pass
    limiter.on_throttle(first, None)
    assert limiter.concurrency_limit == 4
    limiter.on_throttle(first, None)  # sent before the cut: already answered by it
    assert limiter.concurrency_limit == 4
    fake_time.now += 1.5
    async with limiter.slot() as later:
        pass
    limiter.on_throttle(later, None)
    assert limiter.concurrency_limit == 2
    for _ in range(40):
        limiter.on_success(later)
    assert limiter.concurrency_limit == 8  # additive increase, capped at parallelism


async def test_throttling_paces_the_request_rate_and_recovers(fake_time: FakeTime) -> None:
    limiter = AdaptiveLimiter(max_concurrency=8, clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(20):  # 20 requests within 1 s: achieved rate 20/s
        async with limiter.slot():
            fake_time.now += 0.05
    limiter.on_throttle(fake_time.now, None)
    rate = limiter.rate_per_second
    assert rate is not None
    assert rate == pytest.approx(10.0, rel=0.1)  # halved
    fake_time.sleeps.clear()
    for _ in range(3):
        async with limiter.slot():
            pass
    assert sum(fake_time.sleeps) >= 2 / rate * 0.99  # paced at the new rate
    for _ in range(25):
        limiter.on_success(fake_time.now)
    assert limiter.rate_per_second is None  # back at the original rate: pacing stops


async def test_few_sequential_requests_are_not_paced(fake_time: FakeTime) -> None:
    limiter = AdaptiveLimiter(max_concurrency=8, clock=fake_time.clock, sleep=fake_time.sleep)
    async with limiter.slot() as started:
        pass
    limiter.on_throttle(started, None)
    assert limiter.rate_per_second is None


async def test_retry_after_pauses_every_new_request(fake_time: FakeTime) -> None:
    limiter = AdaptiveLimiter(max_concurrency=8, clock=fake_time.clock, sleep=fake_time.sleep)
    limiter.on_throttle(fake_time.now, 2.0)
    before = fake_time.now
    async with limiter.slot():
        pass
    assert fake_time.now - before >= 2.0


async def test_without_adaptation_limits_stay_put(fake_time: FakeTime) -> None:
    limiter = AdaptiveLimiter(
        max_concurrency=8, adaptive=False, clock=fake_time.clock, sleep=fake_time.sleep
    )
    limiter.on_throttle(fake_time.now, None)
    assert limiter.concurrency_limit == 8


async def test_a_throttled_client_lowers_its_concurrency(fake_time: FakeTime) -> None:
    answers = [429] * 3

    def handler(request: httpx.Request) -> httpx.Response:
        if answers:
            return httpx.Response(answers.pop(), headers={"Retry-After": "1"})
        return envelope([])

    async with CapillaryClient(
        settings(parallelism=8),
        transport=httpx.MockTransport(handler),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as client:
        await asyncio.gather(*(client.get_communications(1, n) for n in range(3)))
        assert client.limiter.concurrency_limit < 8
