"""Fault injection settings and the seeded draws that decide each request's fault (SPEC §8).

Pure decisions only; the gateway turns a decided fault into bytes on the wire (or none at all).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from reconciler.errors import UsageError

TOKEN_PATH = "/v3/oauth/token/generate"  # noqa: S105 -- a path, not a password


class Fault(StrEnum):
    """What was done to a request; recorded in ``request_log.fault``."""

    THROTTLE = "throttle"  # 429 with Retry-After: 1, request not processed
    FAIL_500 = "fail_500"  # 500 with the error envelope, request not processed
    FAIL_503_HTML = "fail_503_html"  # 503 with a CDN's HTML page, request not processed
    HTML_200 = "html_200"  # 200 with a CDN's HTML page, request not processed
    TRUNCATE = "truncate"  # processed (a write commits), then the JSON body is cut short
    AMBIGUOUS_500 = "ambiguous_500"  # write committed, then 500 with the envelope
    AMBIGUOUS_DROP = "ambiguous_drop"  # write committed, then the connection is dropped
    RATE_LIMITED = "rate_limited"  # over rate_limit_per_minute: 429 with Retry-After
    UNAUTHORIZED = "unauthorized"  # 401 with the envelope, request not processed
    FORBIDDEN = "forbidden"  # 403 with the envelope, request not processed
    STALL = "stall"  # no answer until the client gives up (times out), request not processed
    AMBIGUOUS_STALL = "ambiguous_stall"  # write committed, then no answer until the client gives up

    @property
    def processed(self) -> bool:
        """Whether the application handles the request before the fault is applied."""
        return self in (
            Fault.TRUNCATE,
            Fault.AMBIGUOUS_500,
            Fault.AMBIGUOUS_DROP,
            Fault.AMBIGUOUS_STALL,
        )


@dataclass(frozen=True)
class FaultConfig:
    """How the sandbox misbehaves. Rates are shares of requests in [0, 1].

    Each request draws from one ``random.Random(seed)`` in arrival order, always the same
    number of draws, so the same seed and the same request sequence give the same faults.
    One draw picks at most one of throttle, fail, html, truncate (so their rates add up);
    writes then draw ``ambiguous_rate``. ``write_script`` forces a fault on the Nth upsert
    (1-based), whatever the draws say; ``path_faults`` forces one on every request to a path
    (e.g. one target's communications, so that only that target fails). Exempt paths (e.g.
    ``{TOKEN_PATH}``) get no faults and consume no draws.
    """

    latency_ms: int = 0
    fail_rate: float = 0.0
    throttle_rate: float = 0.0
    ambiguous_rate: float = 0.0
    seed: int | None = None
    read_lag_ms: int = 0
    # Seconds in the Retry-After of injected throttles (1, as the issue says; tests may use 0).
    throttle_retry_after: int = 1
    html_rate: float = 0.0
    truncate_rate: float = 0.0
    fail_kind: Literal["mixed", "500", "503"] = "mixed"
    ambiguous_kind: Literal["mixed", "500", "drop"] = "mixed"
    exempt_paths: frozenset[str] = frozenset()
    write_script: Mapping[int, Fault] = field(default_factory=lambda: MappingProxyType({}))
    path_faults: Mapping[str, Fault] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        # UsageError: these settings come from `sandbox serve` flags, so say it in one line.
        rates = {
            "fail_rate": self.fail_rate,
            "throttle_rate": self.throttle_rate,
            "ambiguous_rate": self.ambiguous_rate,
            "html_rate": self.html_rate,
            "truncate_rate": self.truncate_rate,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise UsageError(f"{name} must be between 0 and 1, got {rate}")
        if self.fail_rate + self.throttle_rate + self.html_rate + self.truncate_rate > 1.0:
            raise UsageError("fail_rate + throttle_rate + html_rate + truncate_rate exceed 1")
        if self.latency_ms < 0 or self.read_lag_ms < 0:
            raise UsageError("latency_ms and read_lag_ms must not be negative")


class FaultInjector:
    """Decides each request's fault from the config's seeded random sequence; thread-safe."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._random = random.Random(config.seed)
        self._lock = threading.Lock()
        self._writes = 0

    def decide(self, *, is_write: bool, path: str | None = None) -> Fault | None:
        with self._lock:
            band, variant, ambiguous = (self._random.random() for _ in range(3))
            scripted = self.config.path_faults.get(path) if path is not None else None
            if is_write:
                self._writes += 1
                scripted = scripted or self.config.write_script.get(self._writes)
            if scripted is not None:
                return scripted
        c = self.config
        edge = c.throttle_rate
        if band < edge:
            return Fault.THROTTLE
        edge += c.fail_rate
        if band < edge:
            return _pick(c.fail_kind, variant, {"500": Fault.FAIL_500, "503": Fault.FAIL_503_HTML})
        edge += c.html_rate
        if band < edge:
            return Fault.HTML_200
        edge += c.truncate_rate
        if band < edge:
            return Fault.TRUNCATE
        if is_write and ambiguous < c.ambiguous_rate:
            kinds = {"500": Fault.AMBIGUOUS_500, "drop": Fault.AMBIGUOUS_DROP}
            return _pick(c.ambiguous_kind, variant, kinds)
        return None


def _pick(kind: str, variant: float, kinds: dict[str, Fault]) -> Fault:
    if kind in kinds:
        return kinds[kind]
    first, second = kinds.values()
    return first if variant < 0.5 else second
