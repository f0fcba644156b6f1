"""A small Capillary written in the test (issue 14): real HTTP on loopback, state in memory.

Unlike the sandbox, its upsert is a method a test overrides to misbehave the way a real server
might (keyed on ``communicationType`` alone, answering in another order, normalising text...).
Basic authentication only; every credential is accepted.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.servers import LoopbackHTTPServer, send

Row = dict[str, Any]

GROUP, TARGET = 10, 20
CHANNELS = [{"id": 1, "name": "SMS"}, {"id": 2, "name": "EMAIL"}]
SMS, EMAIL = 1, 2
_COMMS = re.compile(r"^/v3/targetGroups/(\d+)/targets/(\d+)/communications(/upsert)?$")
_STAMP = "2026-03-01T10:00:00.000+0000"


def row(id_: int, kind: str | int | None, channel: int, message: str, **fields: Any) -> Row:
    """A stored communication of GROUP/TARGET, as the API answers it."""
    base: Row = {
        "id": id_,
        "targetId": TARGET,
        "targetGroupId": GROUP,
        "communicationType": kind,
        "channelId": channel,
        "sender": "loyalty@northwind.example",
        "subjectTemplate": "",
        "messageTemplate": message,
        "offsetDays": 0,
        "active": True,
        "attribution": {"createdOn": _STAMP, "lastUpdatedOn": _STAMP},
    }
    base.update(fields)
    return base


class FakeCapillary:
    """One target group (GROUP) with one target (TARGET); override ``upsert`` to misbehave."""

    def __init__(self, rows: list[Row] | None = None) -> None:
        self.rows: list[Row] = [deepcopy(r) for r in rows or []]
        self.requests: list[tuple[str, str, Any]] = []
        self.lock = threading.Lock()
        self.next_id = max((r["id"] for r in self.rows), default=0) + 1

    # --- behaviour a test overrides ------------------------------------------------------

    def read(self, group: int, target: int) -> list[Row]:
        return [
            deepcopy(r) for r in self.rows if (r["targetGroupId"], r["targetId"]) == (group, target)
        ]

    def upsert(self, group: int, target: int, body: list[Row]) -> list[Row]:
        """SPEC §2's upsert: an element with id updates that row, one without inserts."""
        answer = []
        for element in body:
            answer.append(self.store(group, target, element, element.get("id")))
        return answer

    # --- helpers --------------------------------------------------------------------------

    def store(self, group: int, target: int, element: Row, id_: int | None) -> Row:
        """Write ``element`` into row ``id_`` (a new row when None); returns the stored row."""
        fields = {k: v for k, v in element.items() if k != "id"}
        for existing in self.rows:
            if existing["id"] == id_:
                existing.update(fields)
                existing["attribution"] = {**existing["attribution"], "lastUpdatedOn": _STAMP}
                return deepcopy(existing)
        new = row(self.next_id, "", 0, "", targetGroupId=group, targetId=target, **fields)
        self.next_id += 1
        self.rows.append(new)
        return deepcopy(new)

    def writes(self) -> list[Any]:
        return [body for method, _, body in self.requests if method == "POST"]

    def active(self) -> list[tuple[str, int]]:
        return sorted((r["communicationType"], r["channelId"]) for r in self.rows if r["active"])

    # --- HTTP -----------------------------------------------------------------------------

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/v3/targetGroups":
            return 200, [{"id": GROUP, "name": "Group", "targets": []}]
        if method == "GET" and path == "/v3/targetGroups/channels":
            return 200, CHANNELS
        if method == "GET" and path == f"/v3/targetGroups/{GROUP}/targets":
            return 200, [{"id": TARGET, "name": "Target", "targetGroupId": GROUP}]
        found = _COMMS.match(path)
        if found:
            group, target = int(found[1]), int(found[2])
            if found[3] and method == "POST":
                return 200, self.upsert(group, target, body)
            if method == "GET":
                return 200, self.read(group, target)
        return 404, None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("content-length") or 0))
        body = json.loads(raw) if raw else None
        with self.lock:
            self.requests.append((request.command, request.path, body))
            status, data = self.answer(request.command, request.path, body)
        errors = None if status == 200 else [{"code": status, "message": "not found"}]
        payload = json.dumps({"data": data, "errors": errors, "warnings": None}).encode()
        send(request, status, payload, {"Content-Type": "application/json"})

    @contextmanager
    def serve(self) -> Iterator[str]:
        server = LoopbackHTTPServer(self._handle)
        try:
            yield server.url
        finally:
            server.close()
