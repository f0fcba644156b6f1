"""The sandbox's answers: the ``{data, errors, warnings}`` envelope, error codes and timestamps.

Success and error bodies are built here, so every failure the API answers has one form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.sandbox.models import ErrorJSON

# Capillary documents these codes for target loyalty (SPEC §2, capillary-api.md §4.3).
INVALID_INPUT = 300004
GROUP_NOT_FOUND = 310017
TARGET_NOT_FOUND = 310018
# Not documented for these answers: the sandbox uses the HTTP status as the code (also for
# routing errors such as 404 and 405).
UNAUTHORIZED = 401
FORBIDDEN = 403
UNSUPPORTED_MEDIA_TYPE = 415
TOO_MANY_REQUESTS = 429
INTERNAL_ERROR = 500

JSON_HEADERS: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]


class ApiFailure(Exception):
    """An answer other than success, raised anywhere in the sandbox and sent as the envelope."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        more: list[ErrorJSON] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors: list[ErrorJSON] = [{"code": code, "message": message}, *(more or [])]
        self.headers = headers or {}


@dataclass
class Reply:
    """A complete HTTP answer, buffered so it can be logged, altered or dropped before sending."""

    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def with_body(self, body: bytes) -> Reply:
        """The same answer with another body and a matching ``content-length``."""
        headers = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        return Reply(self.status, headers, body)


def dumps(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def success(data: object) -> dict[str, object]:
    return {"data": data, "errors": None, "warnings": None}


def failure_body(errors: list[ErrorJSON]) -> dict[str, object]:
    return {"data": None, "errors": errors, "warnings": None}


def failure_reply(failure: ApiFailure) -> Reply:
    headers = [
        *JSON_HEADERS,
        *((k.lower().encode(), v.encode()) for k, v in failure.headers.items()),
    ]
    return Reply(failure.status, headers, b"").with_body(dumps(failure_body(failure.errors)))


def now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """Capillary's form: ``2025-06-24T08:25:55.590+0000`` (milliseconds, UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def iso_timestamp(capillary: str) -> str:
    """The ``createdOnISO`` form of a Capillary timestamp (``…+00:00``)."""
    return capillary[:-5] + "+00:00" if capillary.endswith("+0000") else capillary
