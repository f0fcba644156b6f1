"""Concurrency, the hard rate ceiling and AIMD adaptation (issue 9) of one client."""

from __future__ import annotations

import asyncio
import email.utils
import heapq
import math
import socket
import time
from collections.abc import Awaitable
from typing import TypeVar

import httpx
import pytest

from reconciler.api import CapillaryClient
from reconciler.api.limits import SLOW_START_WINDOW, AdaptiveLimiter
from reconciler.api.retry import parse_quota
from reconciler.errors import RateLimitedError
from reconciler.sandbox.gateway import RateLimiter
from tests.support.client import FakeTime, envelope, settings
from tests.support.raw_servers import RawServer, answer, envelope_bytes
from tests.support.servers import Seen

T = TypeVar("T")

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


# -- slow start and measured pacing (issue 9: at most 5% 429s against a rate limiter) ---------


async def test_slow_start_grows_half_a_request_per_success_until_throttled(
    fake_time: FakeTime,
) -> None:
    limiter = AdaptiveLimiter(
        max_concurrency=8, initial_concurrency=2, clock=fake_time.clock, sleep=fake_time.sleep
    )
    assert limiter.concurrency_limit == 2
    for _ in range(4):
        limiter.on_success(fake_time.now)
    assert limiter.concurrency_limit == 4
    limiter.on_throttle(fake_time.now, None)
    assert limiter.concurrency_limit == 2
    for _ in range(2):
        limiter.on_success(fake_time.now)
    assert limiter.concurrency_limit == 2  # additive increase now: 2 + 1/2 + 1/2.5


def test_a_client_starts_with_the_slow_start_window() -> None:
    client = CapillaryClient(
        settings(parallelism=16), transport=httpx.MockTransport(lambda r: envelope([]))
    )
    assert client.limiter.concurrency_limit == SLOW_START_WINDOW


def _paced_after_first_throttle(fake_time: FakeTime) -> tuple[AdaptiveLimiter, float]:
    """A limiter that saw 12 successes in the last second, then a 429 with Retry-After: 1."""
    limiter = AdaptiveLimiter(max_concurrency=16, clock=fake_time.clock, sleep=fake_time.sleep)
    fake_time.now -= 5.0
    limiter.on_success(fake_time.now)  # long ago: not part of the guess
    fake_time.now += 5.0 - 0.6
    for _ in range(12):
        limiter.on_success(fake_time.now)
        fake_time.now += 0.05
    episode = fake_time.now
    limiter.on_throttle(episode, 1.0)
    return limiter, episode


async def test_retry_after_paces_at_the_rate_the_server_accepted(fake_time: FakeTime) -> None:
    """The first guess is the successes of the last second; requests then go one by one."""
    limiter, episode = _paced_after_first_throttle(fake_time)
    assert limiter.rate_per_second == pytest.approx(12.0)
    fake_time.sleeps.clear()
    starts = []
    for _ in range(3):
        async with limiter.slot() as started:
            starts.append(started)
    assert starts[0] == pytest.approx(episode + 1.0)  # the pause first
    assert starts[1] - starts[0] == pytest.approx(1 / 12)  # then paced, no burst
    assert starts[2] - starts[1] < 1 / 12  # growing until the next throttle measures the rate


async def test_the_next_retry_after_measures_the_rate_between_episodes(
    fake_time: FakeTime,
) -> None:
    limiter, episode = _paced_after_first_throttle(fake_time)
    for n in range(40):  # accepted after the first episode: 40 in 3 s
        limiter.on_success(episode + 0.5 + n * 0.05)
    limiter.on_success(episode - 0.01)  # sent before the episode: not part of the measure
    fake_time.now = episode + 3.0
    limiter.on_throttle(fake_time.now - 0.05, 1.0)
    assert limiter.rate_per_second == pytest.approx(40 / 3.0)
    fake_time.now += 1.0 + 10.0  # after the pause the rate only creeps up (0.5 % a second)
    assert limiter.rate_per_second == pytest.approx(40 / 3.0 * math.exp(0.05))
    for _ in range(100):
        limiter.on_success(fake_time.now)
    assert limiter.rate_per_second is not None  # pacing never stops: it would only find 429s


def _measured(fake_time: FakeTime) -> tuple[AdaptiveLimiter, float]:
    """A limiter whose second episode measured 10 requests a second."""
    limiter, episode = _paced_after_first_throttle(fake_time)
    for n in range(30):
        limiter.on_success(episode + 0.01 + n * 0.1)
    fake_time.now = episode + 3.0
    limiter.on_throttle(fake_time.now - 0.05, 1.0)
    assert limiter.rate_per_second == pytest.approx(10.0)
    return limiter, fake_time.now


async def test_a_first_measure_cuts_the_rate_at_most_by_half(fake_time: FakeTime) -> None:
    limiter, episode = _paced_after_first_throttle(fake_time)
    limiter.on_success(episode + 1.5)
    fake_time.now = episode + 3.0
    before = limiter.rate_per_second
    assert before is not None
    limiter.on_throttle(fake_time.now - 0.05, 1.0)
    assert limiter.rate_per_second == pytest.approx(before / 2)


async def test_throttles_while_below_the_measured_rate_only_pause(fake_time: FakeTime) -> None:
    """Random 429s (or another client on the key) cannot talk the rate down to nothing."""
    limiter, episode = _measured(fake_time)
    for n in range(10):  # a 429 every 1.5 s, few successes in between: not our rate's fault
        fake_time.now = episode + 1.5 * (n + 1)
        limiter.on_success(fake_time.now - 0.5)
        limiter.on_throttle(fake_time.now - 0.05, 1.0)
        assert limiter.rate_per_second == pytest.approx(10.0, rel=0.05)
    assert fake_time.now < limiter._paused_until  # each of them still paused every request


async def test_throttled_after_probing_above_the_measure_remeasures(fake_time: FakeTime) -> None:
    limiter, episode = _measured(fake_time)
    fake_time.now = episode + 30.0  # probing: 0.5 % a second above the measure
    probed = limiter.rate_per_second
    assert probed is not None
    assert probed > 10.0 * 1.05
    for n in range(29 * 11):  # the server took 11 a second meanwhile
        limiter.on_success(episode + 0.5 + n / 11)
    limiter.on_throttle(fake_time.now - 0.05, 1.0)
    assert limiter.rate_per_second == pytest.approx(11 * 29 / 30, rel=0.01)


async def test_a_retry_after_holds_back_requests_already_waiting_their_turn(
    fake_time: FakeTime,
) -> None:
    limiter, episode = _paced_after_first_throttle(fake_time)
    waits = 0

    async def sleep(seconds: float) -> None:
        nonlocal waits
        waits += 1
        if waits == 2:  # the second request waits for its turn: now the server says 5 s
            limiter.on_throttle(fake_time.now, 5.0)
        await fake_time.sleep(seconds)

    limiter._sleep = sleep
    async with limiter.slot() as first:
        pass
    async with limiter.slot() as second:
        pass
    assert first == pytest.approx(episode + 1.0)
    assert second >= first + 5.0


async def test_a_retry_after_without_enough_successes_sets_no_rate(fake_time: FakeTime) -> None:
    limiter = AdaptiveLimiter(max_concurrency=8, clock=fake_time.clock, sleep=fake_time.sleep)
    limiter.on_success(fake_time.now)
    limiter.on_throttle(fake_time.now, 1.0)
    assert limiter.rate_per_second is None


class VirtualTime:
    """A clock for many concurrent tasks: time jumps to the next sleeper once all are blocked."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._timers, (self.now + max(seconds, 0.0), self._seq, future))
        await future

    async def run(self, work: Awaitable[T]) -> T:
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(200):  # every task runs until it blocks (deterministic order)
                await asyncio.sleep(0)
            if task.done() or not self._timers:
                continue
            when, _, future = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            future.set_result(None)
        return task.result()


async def test_against_a_token_bucket_few_requests_are_throttled() -> None:
    """Acceptance 4 of issue 9 in virtual time: 600/min, P=16, 50 ms latency, 300 reads."""
    clock = VirtualTime()
    bucket = RateLimiter(600, clock=clock.clock)  # the sandbox's own limiter: burst of 10
    log: list[tuple[float, int]] = []

    async def server(request: httpx.Request) -> httpx.Response:
        await clock.sleep(0.025)
        wait = bucket.acquire("demo")
        log.append((clock.now, 429 if wait else 200))
        await clock.sleep(0.025)
        if wait:
            return httpx.Response(429, headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return envelope([])

    async with CapillaryClient(
        settings(parallelism=16, backoff_base=0.5, backoff_cap=30.0),
        transport=httpx.MockTransport(server),
        sleep=clock.sleep,
        clock=clock.clock,
        rng=lambda: 0.5,
    ) as client:
        await clock.run(asyncio.gather(*(client.get_communications(1, n) for n in range(300))))
    throttled = sum(1 for _, status in log if status == 429)
    accepted = [at for at, status in log if status == 200]
    assert len(accepted) == 300
    assert throttled <= 0.05 * len(log)
    assert len(accepted) / (accepted[-1] - accepted[0]) >= 0.85 * 10


# -- rate-limit headers (issue 21: fewer 429s where the server says how many are left) --------


@pytest.mark.parametrize(
    ("remaining", "reset"),
    [("X-RateLimit-Remaining", "X-RateLimit-Reset"), ("RateLimit-Remaining", "RateLimit-Reset")],
)
async def test_a_spent_window_holds_new_requests_until_its_reset(
    fake_time: FakeTime, remaining: str, reset: str
) -> None:
    answers = [("5", "3"), ("0", "3")]  # the second answer spends the window

    def handler(request: httpx.Request) -> httpx.Response:
        left, resets = answers.pop(0) if answers else ("9", "3")
        response = envelope([])
        response.headers.update({remaining: left, reset: resets})
        return response

    async with CapillaryClient(
        settings(parallelism=1),
        transport=httpx.MockTransport(handler),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as client:
        await client.get_communications(1, 1)
        assert fake_time.sleeps == []  # requests left: no wait at all
        await client.get_communications(1, 2)
        await client.get_communications(1, 3)
    assert fake_time.sleeps == [pytest.approx(3.0)]  # the third waited for the reset
    assert client.stats.failures == 0


async def test_requests_in_flight_count_against_what_is_left(fake_time: FakeTime) -> None:
    limiter = AdaptiveLimiter(max_concurrency=8, clock=fake_time.clock, sleep=fake_time.sleep)
    async with limiter.slot(), limiter.slot(), limiter.slot():
        limiter.on_quota(3, 2.0)  # two others in flight, three left: go on
        assert limiter._paused_until < fake_time.now
        limiter.on_quota(2, 2.0)  # the two others spend them: wait for the reset
        assert limiter._paused_until == pytest.approx(fake_time.now + 2.0)


def test_rate_limit_headers_are_read_in_both_forms_and_epoch_resets() -> None:
    now = 1_800_000_000.0
    assert parse_quota({"ratelimit-remaining": "4", "ratelimit-reset": "7"}, now=now) == (4, 7.0)
    epoch = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 30)}
    assert parse_quota(epoch, now=now) == (0, 30.0)
    assert parse_quota({"x-ratelimit-remaining": "0"}, now=now) is None  # no reset: no rule
    garbage = {"ratelimit-remaining": "many", "ratelimit-reset": "7"}
    assert parse_quota(garbage, now=now) is None
    negative = {"ratelimit-remaining": "1", "ratelimit-reset": "-1"}
    assert parse_quota(negative, now=now) is None


async def test_a_429_without_retry_after_waits_for_the_windows_reset(fake_time: FakeTime) -> None:
    answers = [
        httpx.Response(429, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4"})
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else envelope([])

    async with CapillaryClient(
        settings(parallelism=1),
        transport=httpx.MockTransport(handler),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as client:
        await client.get_communications(1, 1)
    assert max(fake_time.sleeps) == pytest.approx(4.0)  # the reset, as a Retry-After


def _quota_server(headers: list[dict[str, str]]) -> RawServer:
    """Loopback server: one answer per header set (429 with them), then an empty 200."""

    def respond(conn: socket.socket, request: Seen) -> None:
        if headers:
            answer(conn, b"", status="429 Too Many Requests", headers=headers.pop(0))
        else:
            answer(conn, envelope_bytes([]))

    return RawServer(respond)


async def test_an_epoch_reset_is_measured_against_the_servers_own_date(
    fake_time: FakeTime,
) -> None:
    # The server's clock runs two minutes ahead of ours; its window resets 5 s after its
    # Date. Measured against our clock that reset is 125 s away (past the 60 s patience).
    server_now = int(time.time()) + 120
    stamp = email.utils.formatdate(server_now, usegmt=True)
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(server_now + 5), "Date": stamp}
    with _quota_server([spent]) as server:
        async with CapillaryClient(
            settings(server.url, parallelism=1),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        ) as client:
            await client.get_communications(1, 1)
    assert max(fake_time.sleeps) == pytest.approx(5.0, abs=1.0)
    assert len(server.requests) == 2


async def test_a_429_naming_two_windows_waits_for_the_spent_ones_reset(
    fake_time: FakeTime,
) -> None:
    # Two policies (a per-second and a per-minute window, as repeated headers): the minute's
    # is spent. Its reset is the wait, not a backoff that retries into the same refusal.
    spent = [
        ("X-RateLimit-Remaining", "5"),
        ("X-RateLimit-Remaining", "0"),
        ("X-RateLimit-Reset", "1"),
        ("X-RateLimit-Reset", "20"),
    ]

    def respond(conn: socket.socket, request: Seen) -> None:
        if len(server.requests) == 1:
            head = "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in spent)
            conn.sendall(head.encode() + b"\r\n")
        else:
            answer(conn, envelope_bytes([]))

    with RawServer(respond) as server:
        async with CapillaryClient(
            settings(server.url, parallelism=1),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        ) as client:
            await client.get_communications(1, 1)
    assert max(fake_time.sleeps) == pytest.approx(20.0)
    assert len(server.requests) == 2


@pytest.mark.parametrize("reset", ["7200", str(int(time.time()) + 5 * 365 * 86400)])
async def test_a_spent_window_resetting_hours_away_fails_at_once_instead_of_waiting(
    fake_time: FakeTime, reset: str
) -> None:
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    with _quota_server([spent] * 9) as server:
        async with CapillaryClient(
            settings(server.url, parallelism=1),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        ) as client:
            with pytest.raises(RateLimitedError, match="longer than the 60 s this run allows"):
                await client.get_communications(1, 1)
    assert fake_time.sleeps == []  # no wait at all, let alone hours
    assert len(server.requests) == 1


@pytest.mark.parametrize("reset", ["1e309", "NaN", "inf", "-5", "soon"])
async def test_an_unreadable_reset_is_no_reset(fake_time: FakeTime, reset: str) -> None:
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    with _quota_server([spent]) as server:
        async with CapillaryClient(
            settings(server.url, parallelism=1),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
        ) as client:
            await client.get_communications(1, 1)
    assert max(fake_time.sleeps) <= 0.01  # the backoff alone
    assert len(server.requests) == 2
