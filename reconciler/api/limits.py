"""How many requests one client may have in flight and how fast it may start them.

Enforces ``parallelism`` and the hard ``rateLimit`` ceiling, and adapts below them (AIMD) when
the server throttles. Holds no request data; time comes from the injected clock and sleep.
"""

from __future__ import annotations

import asyncio
import math
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
# Slow start: the client begins with this many requests in flight and adds half a request per
# success (x1.5 per round trip) until the first throttle or ``parallelism``, so that a rate
# limiter's first rejections meet a small wave of requests, not ``parallelism`` of them.
SLOW_START_WINDOW = 4
_SLOW_START_STEP = 0.5
# Throttles with Retry-After (measured pacing): the first guess is what the server accepted in
# the last second, which includes any burst it allowed, so the rate then grows fast until the
# next throttle measures it exactly; after that it only creeps up, to notice a raised limit.
_GUESS_WINDOW = 1.0
_MIN_GUESS = 3  # fewer successes than this in that second: no guess, no pacing yet
_FAST_GROWTH = 0.2  # per second, continuous, until the rate has been measured
_SLOW_GROWTH = 0.005  # per second, continuous, afterwards
# Later throttles re-measure only after sending this much above the last measure, and lower
# the rate by at most this factor each time.
_PROBE_MARGIN = 0.05
_MAX_CUT = 0.9


class AdaptiveLimiter:
    """A concurrency limit and a pacer shared by every call of one client.

    Concurrency (AIMD): a throttled answer (429/503) halves the allowed in-flight count, at most
    once per second and per congestion episode; every success raises it by ``1/limit`` (about
    one per round of requests) up to ``max_concurrency``. With ``initial_concurrency`` below
    that, it first grows by half a request per success (slow start) until the first throttle.

    Rate, when the throttle carries ``Retry-After`` (a rate limiter speaking): every new request
    pauses until it ends, and requests are then paced, never sent in bursts, at the rate the
    server was measured to accept (see ``_measure``): first what it accepted in the last second,
    growing fast; from the next episode on, the successes between two episodes over the time
    between them, then growing by 0.5 % a second. Pacing lasts for the rest of the run: letting
    go would only find the limit again with 429s.

    Rate, when throttled without ``Retry-After`` (an overloaded server): halved from the rate
    actually achieved, raised by a twentieth of the cut rate per success, and unpaced again
    once back where throttling began.

    The ``rate_per_minute`` ceiling is enforced separately with ``aiolimiter`` and never rises.
    """

    def __init__(
        self,
        *,
        max_concurrency: int,
        rate_per_minute: float | None = None,
        adaptive: bool = True,
        initial_concurrency: int | None = None,
        decrease: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._ceiling = max_concurrency
        start = max_concurrency if initial_concurrency is None else initial_concurrency
        self._limit = float(min(max(1, start), max_concurrency))
        self._slow_start = adaptive and self._limit < max_concurrency
        self._adaptive = adaptive
        self._decrease = decrease
        self._clock = clock
        self._sleep = sleep
        # One request per 60/rpm seconds, no burst: "at most rateLimit per minute" in any window.
        self._hard = AsyncLimiter(1, 60.0 / rate_per_minute) if rate_per_minute else None
        self._in_flight = 0
        self.admitted = 0  # requests let through the ceiling: every attempt, token fetches too
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._rate: float | None = None  # adaptive requests per second; None: not limited
        self._rate_step = 0.0
        self._rate_origin = 0.0  # the achieved rate when the first throttle arrived
        self._next_start = 0.0
        self._paused_until = 0.0
        self._last_decrease = float("-inf")
        self._starts: deque[float] = deque()
        # Measured pacing (throttles with Retry-After): start times of successful requests,
        # the last episode, and the paced rate as base * exp(growth * (t - since)).
        self._ok_starts: deque[float] = deque()
        self._measured = False
        self._exact = False
        self._episode_at: float | None = None
        self._base = 0.0
        self._since = 0.0
        self._growth = 0.0

    @property
    def concurrency_limit(self) -> int:
        """Requests allowed in flight right now (between 1 and ``max_concurrency``)."""
        return max(1, int(self._limit))

    @property
    def rate_per_second(self) -> float | None:
        """The adaptive rate now, or ``None`` while requests are not paced."""
        if self._measured:
            return self._measured_rate(self._clock())
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
        if not self._adaptive:
            return
        step = _SLOW_START_STEP if self._slow_start else 1.0 / self._limit
        self._limit = min(float(self._ceiling), self._limit + step)
        self._ok_starts.append(started)
        if self._episode_at is None:  # only the last second counts toward the first guess
            horizon = self._clock() - _GUESS_WINDOW
            while self._ok_starts and self._ok_starts[0] < horizon:
                self._ok_starts.popleft()
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
        self._slow_start = False
        if started < self._last_decrease or now - self._last_decrease < _MIN_DECREASE_INTERVAL:
            return  # sent before the last cut took effect: that cut already answered it
        self._last_decrease = now
        self._limit = max(1.0, self._limit * self._decrease)
        if retry_after is not None or self._episode_at is not None:
            self._measure(now)
            return
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

    def on_quota(self, remaining: int, reset: float) -> None:
        """The server's own count: ``remaining`` requests until its window resets in ``reset``
        seconds. When the other requests in flight would spend them, new requests wait for the
        reset, as for a ``Retry-After``, instead of meeting a 429 (issue 21). Called within the
        answered request's slot, so the others are ``in_flight - 1``."""
        if remaining <= self._in_flight - 1 and reset > 0:
            self._paused_until = max(self._paused_until, self._clock() + reset)

    def _measure(self, now: float) -> None:
        """A new throttle episode under measured pacing: re-derive the rate from the successes.

        For a token bucket, the successes between two episodes over the time between them are
        its rate exactly: it was empty at both. A throttle while sending no faster than the last
        measure is no evidence of a limit (random 429s, another client using the key): then the
        pause is all, so such throttles cannot talk the rate down to nothing. (A limit lowered
        to less than half during a run is therefore not followed; Retry-After still is.)
        """
        first = self._episode_at is None
        window = _GUESS_WINDOW if first else max(now - (self._episode_at or now), 1e-3)
        accepted = sum(1 for s in self._ok_starts if s > now - window)
        self._episode_at = now
        self._ok_starts.clear()
        estimate = accepted / window
        current = self._measured_rate(now) if self._measured else None
        if current is None and accepted < _MIN_GUESS:
            return  # too little to go on yet: the pause and the concurrency cut must do
        if first:
            self._pace_at(estimate, now, _FAST_GROWTH)
        elif not self._exact:  # the first measure: trusted, but at most halving the rate
            self._pace_at(max(estimate, 0.5 * (current or 0.0)), now, _SLOW_GROWTH)
            self._exact = True
        elif max(current or 0.0, estimate) > self._base * (1 + _PROBE_MARGIN):
            # Sent above the last measure and throttled: measure again, lowering the rate by
            # at most 10 %. A measure below half the last one is not believed (random 429s,
            # another client on the key): probing just starts again from the last measure.
            if estimate < 0.5 * self._base:
                estimate = self._base
            self._pace_at(max(estimate, _MAX_CUT * self._base), now, _SLOW_GROWTH)

    def _pace_at(self, rate: float, now: float, growth: float) -> None:
        self._measured = True
        self._rate = None  # the unmeasured AIMD rate no longer applies
        self._base = max(_MIN_RATE, rate)
        self._since = max(now, self._paused_until)  # growth starts when sending resumes
        self._growth = growth

    def _measured_rate(self, at: float) -> float:
        return self._base * math.exp(self._growth * max(0.0, at - self._since))

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
        while True:
            now = self._clock()
            start = max(now, self._paused_until)
            if self._measured:
                start = max(start, self._next_start)
                self._next_start = start + 1.0 / self._measured_rate(start)
            elif self._rate is not None:
                start = max(start, self._next_start)
                self._next_start = start + 1.0 / self._rate
            if start <= now:
                break
            await self._sleep(start - now)
            if self._paused_until <= start:
                break  # else a Retry-After arrived while this request waited for its turn
        if self._hard is not None:
            await self._hard.acquire()
        self.admitted += 1
        now = self._clock()
        self._starts.append(now)
        self._trim(now)

    async def admit_extra(self) -> None:
        """One more request inside a held slot (a token fetch, a resend after a 401): it counts
        against the ``rate_per_minute`` ceiling like any other, so a configured rateLimit
        holds for every request of the run (issue 21)."""
        if self._hard is not None:
            await self._hard.acquire()
        self.admitted += 1
