"""How many requests one client may have in flight and how fast it may start them.

Enforces ``parallelism`` and the hard ``rateLimit`` ceiling, and adapts below them (AIMD) when
the server throttles. Holds no request data; time comes from the injected clock and sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiolimiter import AsyncLimiter

# Never slow below one request per 10 s: a stuck-low rate would stall CI with no error.
_MIN_RATE = 0.1
# Window over which the achieved request rate is measured when the server first throttles.
_RATE_WINDOW = 5.0
# Consecutive decreases are at least this far apart, so a burst of 429s that all answer one
# congestion episode halves the limits once, not once per answer.
_MIN_DECREASE_INTERVAL = 1.0
# After a decrease the rate doubles again in about this many successful requests.
_RECOVERY_STEPS = 20
# Pacing starts only when the window holds this many requests; a rate guessed from a handful
# of sequential requests would be far too low and slow the whole run down for nothing.
_MIN_SAMPLES = 10


class AdaptiveLimiter:
    """A concurrency limit and a pacer shared by every call of one client.

    AIMD: a throttled answer (429/503) halves the allowed in-flight count and the request rate
    (at most once per second and per congestion episode; the rate starts as the one actually
    achieved); every success raises the in-flight count by ``1/limit`` (about one per round of
    requests) up to ``max_concurrency``, and the rate by a twentieth of its post-cut value until
    it is back where throttling began, where pacing stops. The ``rate_per_minute`` ceiling is enforced separately
    with ``aiolimiter`` and never rises. ``Retry-After`` pauses every new request until it ends.
    """

    def __init__(
        self,
        *,
        max_concurrency: int,
        rate_per_minute: float | None = None,
        adaptive: bool = True,
        decrease: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._ceiling = max_concurrency
        self._limit = float(max_concurrency)
        self._adaptive = adaptive
        self._decrease = decrease
        self._clock = clock
        self._sleep = sleep
        # One request per 60/rpm seconds, no burst: "at most rateLimit per minute" in any window.
        self._hard = AsyncLimiter(1, 60.0 / rate_per_minute) if rate_per_minute else None
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._rate: float | None = None  # adaptive requests per second; None: not limited
        self._rate_step = 0.0
        self._rate_origin = 0.0  # the achieved rate when the first throttle arrived
        self._next_start = 0.0
        self._paused_until = 0.0
        self._last_decrease = float("-inf")
        self._starts: deque[float] = deque()

    @property
    def concurrency_limit(self) -> int:
        """Requests allowed in flight right now (between 1 and ``max_concurrency``)."""
        return max(1, int(self._limit))

    @property
    def rate_per_second(self) -> float | None:
        """The adaptive rate, or ``None`` while the server has not throttled."""
        return self._rate

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold one in-flight slot, paced; yields the start time for ``on_*`` feedback."""
        await self._acquire()
        try:
            await self._pace()
            yield self._clock()
        finally:
            self._in_flight -= 1
            self._wake()

    def on_success(self, started: float) -> None:
        del started  # every success counts toward recovery, whenever it started
        if not self._adaptive:
            return
        self._limit = min(float(self._ceiling), self._limit + 1.0 / self._limit)
        if self._rate is not None:
            self._rate += self._rate_step
            if self._rate >= self._rate_origin:
                self._rate = None  # back where throttling began: stop pacing, let it find out
        self._wake()

    def on_throttle(self, started: float, retry_after: float | None) -> None:
        now = self._clock()
        if retry_after:
            self._paused_until = max(self._paused_until, now + retry_after)
        if not self._adaptive:
            return
        if started < self._last_decrease or now - self._last_decrease < _MIN_DECREASE_INTERVAL:
            return  # sent before the last cut took effect: that cut already answered it
        self._last_decrease = now
        self._limit = max(1.0, self._limit * self._decrease)
        achieved = self._achieved_rate(now)
        if self._rate is None and achieved is None:
            return  # too few requests to pace: the concurrency cut and backoff suffice
        if self._rate is None:
            assert achieved is not None
            self._rate_origin = achieved
            current = achieved
        else:
            current = self._rate if achieved is None else min(self._rate, achieved)
        self._rate = max(_MIN_RATE, current * self._decrease)
        self._rate_step = self._rate / _RECOVERY_STEPS

    def _achieved_rate(self, now: float) -> float | None:
        """Requests started per second over the recent window; ``None`` with too few samples."""
        self._trim(now)
        if len(self._starts) < _MIN_SAMPLES:
            return None
        return len(self._starts) / max(now - self._starts[0], 1e-3)

    def _trim(self, now: float) -> None:
        while self._starts and self._starts[0] < now - _RATE_WINDOW:
            self._starts.popleft()

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        while self._in_flight >= self.concurrency_limit:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # pass on a wake-up this cancelled task can no longer use
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._in_flight += 1

    def _wake(self) -> None:
        free = self.concurrency_limit - self._in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    async def _pace(self) -> None:
        now = self._clock()
        start = max(now, self._paused_until)
        if self._rate is not None:
            start = max(start, self._next_start)
            self._next_start = start + 1.0 / self._rate
        if start > now:
            await self._sleep(start - now)
        if self._hard is not None:
            await self._hard.acquire()
        self._starts.append(self._clock())
        self._trim(self._clock())
