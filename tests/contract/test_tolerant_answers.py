"""Tolerant reading (SPEC §9, issue 16): what another deployment of the API may answer is read as
its meaning, never an error. Unknown fields are kept as a row's server fields but never compared
or fingerprinted; an upsert answer with ids as strings, ``errors: []``, extra fields, rows in
another order and text the server trimmed is judged by re-reading, and the run converges."""

from __future__ import annotations

import json
import shutil
from typing import Any

import httpx

from reconciler.api.wire import Communication
from reconciler.fingerprint import fingerprint
from reconciler.plan import Snapshot
from reconciler.sandbox import SandboxServer
from tests.support import ROOT
from tests.support.cli import Run, write_config
from tests.support.contracts import DEMO_TARGETS, rows
from tests.support.sandbox import BASIC, assert_no_duplicates
from tests.support.servers import Answer, Proxy, Seen

ROW = {
    "id": 5101,
    "targetId": 2317,
    "targetGroupId": 2163,
    "communicationType": "START",
    "channelId": 2,
    "subjectTemplate": "s",
    "messageTemplate": "m",
    "sender": "x@example.com",
    "offsetDays": 0,
    "active": True,
}
SERVER_FIELDS = {
    "configs": [{"name": "replyTo", "value": "care@example.com"}],
    "supportedCommChannels": ["EMAIL"],
    "createdOnISO": "2026-03-01T10:00:00Z",
}


def test_unknown_fields_are_kept_but_never_compared_or_fingerprinted() -> None:
    plain = Communication.model_validate(ROW)
    rich = Communication.model_validate({**ROW, **SERVER_FIELDS})
    assert plain.server_fields == {}
    assert rich.server_fields == SERVER_FIELDS
    assert Snapshot.of(rich) == Snapshot.of(plain)
    assert fingerprint([rich]) == fingerprint([plain])


def test_ids_and_offset_days_as_numeric_strings_are_their_numbers() -> None:
    text = {k: str(v) for k, v in ROW.items() if k in ("id", "targetId", "targetGroupId")}
    odd = Communication.model_validate({**ROW, **text, "channelId": "2", "offsetDays": "0"})
    assert odd == Communication.model_validate(ROW)


def _odd(value: Any) -> Any:
    """The answer as a less tidy deployment writes it: ids as strings, unknown fields."""
    if isinstance(value, list):
        return [_odd(item) for item in value]
    if isinstance(value, dict):
        changed = {
            k: str(v) if k in ("id", "targetId", "targetGroupId", "channelId", "offsetDays") else v
            for k, v in value.items()
        }
        return {**changed, "createdOnISO": "2026-03-01T10:00:00Z", "configs": []}
    return value


def test_an_untidy_but_true_upsert_answer_is_a_success(
    repo: Any, sandbox: SandboxServer, cli: Run
) -> None:
    """Each answer: ids as strings, unknown fields, ``errors: []``, rows reversed, and text with
    its trailing whitespace trimmed in the answer only; the re-read shows what was sent."""
    upstream = httpx.Client(base_url=sandbox.url, headers=BASIC, timeout=30)

    def rule(seen: Seen, n: int) -> Answer | None:
        if seen.method == "GET" and seen.path.endswith("/communications"):
            data = upstream.get(seen.path).json()["data"]
        elif seen.method == "POST" and seen.path.endswith("/upsert"):
            kind = {"Content-Type": "application/json"}
            stored = upstream.post(seen.path, content=seen.body, headers=kind).json()["data"]
            data = [{**row, "messageTemplate": row["messageTemplate"].rstrip()} for row in stored]
            data.reverse()
        else:
            return None
        body = json.dumps({"data": _odd(data), "errors": [], "warnings": []}).encode()
        return Answer(200, body, {"Content-Type": "application/json"})

    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    with Proxy(sandbox.url, rule) as proxy:
        write_config(repo, proxy.url)
        code, out, err = cli("apply", "--auto-approve")
        assert code == 0, out + err
        assert "inconsistent" not in out + err
        code, out, _ = cli("plan", "--detailed-exitcode")
        answered = [s for s in proxy.seen if s.method == "POST"]
    upstream.close()
    assert len(answered) == len(DEMO_TARGETS)  # every write was answered the untidy way
    assert code == 0, out
    assert_no_duplicates(sandbox.store, DEMO_TARGETS)
    start = next(r for r in rows(sandbox.db_path, target=2319) if r["communicationType"] == "START")
    assert str(start["messageTemplate"]).endswith("gift card.\n")  # stored as sent, not trimmed
