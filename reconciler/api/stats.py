"""Counters of what one client sent and why, for logs, reports, benchmarks and tests.

Plain numbers only: nothing here ever holds a header, a body or a secret.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ClientStats:
    """What one ``CapillaryClient`` did. Single event loop, so plain ints suffice.

    ``requests`` counts every HTTP request handed to the transport: API attempts, token requests
    and the one re-send after a 401. It is the number to compare with a server's request log.
    """

    calls: int = 0  # API method calls (one per list_/get_/upsert_ call)
    attempts: int = 0  # attempts of those calls that reached the point of sending
    requests: int = 0  # HTTP requests handed to the transport, of every kind
    responses: int = 0  # HTTP responses received (a dropped connection gives none)
    token_requests: int = 0  # POSTs to the OAuth token endpoint
    token_renewals_on_401: int = 0  # tokens regenerated because the API answered 401
    writes: int = 0  # upsert requests sent (a 401 re-send counts again)
    throttled: int = 0  # answers 429 or 503
    ambiguous_writes: int = 0  # writes whose outcome is unknown (AmbiguousWriteError)
    failures: int = 0  # calls that raised an error to the caller
    circuit_rejections: int = 0  # calls refused because the circuit breaker was open
    retries: Counter[str] = field(default_factory=Counter)  # retries by reason ("429", "timeout")

    @property
    def retries_total(self) -> int:
        return sum(self.retries.values())

    def as_dict(self) -> dict[str, int | dict[str, int]]:
        """A JSON-ready snapshot (for reports and debug logs)."""
        return {
            "calls": self.calls,
            "attempts": self.attempts,
            "requests": self.requests,
            "responses": self.responses,
            "tokenRequests": self.token_requests,
            "tokenRenewalsOn401": self.token_renewals_on_401,
            "writes": self.writes,
            "throttled": self.throttled,
            "ambiguousWrites": self.ambiguous_writes,
            "failures": self.failures,
            "circuitRejections": self.circuit_rejections,
            "retries": dict(sorted(self.retries.items())),
        }
