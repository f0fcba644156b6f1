"""Driving one ``CapillaryClient`` in a test: settings with tiny backoff, a clock that moves only
when awaited, and ``MockTransport`` answers from a script (no socket; ``servers`` has those).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from reconciler.api import BasicCredentials, CapillaryClient, ClientSettings, OAuthCredentials
from reconciler.api.wire import CommunicationWrite

BASE = "https://api.test"


class FakeTime:
    """A monotonic clock that only moves when ``sleep`` is awaited; records every wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def settings(
    base_url: str = BASE,
    credentials: BasicCredentials | OAuthCredentials | None = None,
    **overrides: object,
) -> ClientSettings:
    """Settings for tests: tiny backoff unless a test is about backoff."""
    values: dict[str, object] = {"backoff_base": 0.001, "backoff_cap": 0.01}
    values.update(overrides)
    return ClientSettings(
        base_url=base_url,
        credentials=credentials or BasicCredentials("demo", "demo-password"),
        **values,  # type: ignore[arg-type]
    )


def envelope(data: object = None, errors: object = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": data, "errors": errors, "warnings": None})


def token_response(token: str = "tok-0001-abcdef", ttl: float = 300) -> httpx.Response:  # noqa: S107
    return envelope({"accessToken": token, "ttlSeconds": ttl})


COMMUNICATION = {
    "id": 11,
    "targetId": 2317,
    "targetGroupId": 2163,
    "communicationType": "FINISH",
    "channelId": 2,
    "subjectTemplate": "s",
    "messageTemplate": "m",
    "sender": "a@example.com",
    "offsetDays": 1,
    "active": True,
    "configs": [],
    "attribution": {
        "createdOn": "2025-06-24T08:25:55.590+0000",
        "lastUpdatedOn": "2025-06-24T08:25:55.590+0000",
        "createdBy": {"id": 1, "code": "c", "name": "n", "type": "TILL"},
    },
}
# COMMUNICATION as an upsert element: what a test writes when the content is not the point.
WRITE = CommunicationWrite(
    active=True,
    channelId=2,
    communicationType="FINISH",
    messageTemplate="m",
    offsetDays=1,
    sender="a@example.com",
    subjectTemplate="s",
)


_TARGET_PATH = re.compile(r"/targetGroups/(\d+)/targets/(\d+)/")


def communication_of(request: httpx.Request) -> dict[str, object]:
    """COMMUNICATION as a row of the target the request's path names: a read answered with a
    row of another target fails (issue 14 item 4)."""
    found = _TARGET_PATH.search(request.url.path)
    if found is None:
        return dict(COMMUNICATION)
    return {**COMMUNICATION, "targetGroupId": int(found[1]), "targetId": int(found[2])}


@dataclass
class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    script: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.script(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def sequence(*responses: httpx.Response) -> Recorder:
    """Answer with ``responses`` in order, repeating the last one."""
    answers = list(responses)

    def script(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return Recorder(script)


def client_for(rec: Recorder, fake: FakeTime | None = None, **overrides: object) -> CapillaryClient:
    """A client on ``rec``'s transport, on ``fake``'s clock when given."""
    timing = {"sleep": fake.sleep, "clock": fake.clock} if fake else {}
    return CapillaryClient(settings(**overrides), transport=rec.transport(), **timing)  # type: ignore[arg-type]
