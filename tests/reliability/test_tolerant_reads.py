"""Issue 14 item 11: fields that are never diffed never make a target unreadable.

A real HTTP proxy in front of the sandbox answers one target's read with rows as other
deployments of the API write them: timestamps as ISO 8601 with ``Z``, without milliseconds,
as epoch milliseconds (number or string), empty, null or garbage; actors with string ids, as
a bare string, as a list or missing; ``attribution`` that is not an object; ``subjectTemplate:
null``; numeric strings for ids and ``offsetDays``; unknown fields. The target is planned as
usual; where the drift report says who changed a row and when, what cannot be read shows as
unknown; among live duplicates an unreadable time counts as the oldest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from reconciler.sandbox.seed import EMAIL, SMS
from tests.support.cli import SENDER, Run, write_config
from tests.support.manifests import communication, manifest
from tests.support.sandbox import comms
from tests.support.servers import Answer, Proxy, Seen

GROUP, TARGET = 2163, 2317
START_TEXT = "Welcome, {{first_name}}!"


def row(
    id_: object, kind: str, channel: object, message: str, **fields: object
) -> dict[str, object]:
    base: dict[str, object] = {
        "id": id_,
        "targetId": TARGET,
        "targetGroupId": GROUP,
        "communicationType": kind,
        "channelId": channel,
        "subjectTemplate": "",
        "messageTemplate": message,
        "sender": SENDER,
        "offsetDays": 0,
        "active": True,
    }
    base.update(fields)
    return base


LIVE = [
    # START/EMAIL: two active rows. 9001's time is epoch milliseconds (2024-06-24T08:25:55.590Z),
    # 9002's is garbage: the garbage one is the oldest, so 9001 is the match despite its lower id.
    row(
        9001,
        "START",
        EMAIL,
        "Welcome back!",
        subjectTemplate=None,
        configs=[],
        createdOnISO="2024-06-24T08:25:55Z",
        attribution={
            "createdOn": "2024-06-24T08:25:55Z",
            "lastUpdatedOn": 1719217555590,
            "createdBy": {"id": "abc-123", "code": 77, "name": "Jane Doe", "type": None},
            "lastUpdatedBy": {"id": "u-9", "code": "jdoe", "name": "Jane Doe", "extra": [1]},
        },
    ),
    row(
        9002,
        "START",
        EMAIL,
        "Welcome twice!",
        attribution={
            "createdOn": "yesterday",
            "lastUpdatedOn": "not a time at all",
            "lastUpdatedBy": {"id": "7", "code": "ui", "name": "Campaign UI"},
        },
    ),
    # CHANGE/SMS: a naive timestamp (read as UTC) is newer than an offset one.
    row(
        9005,
        "CHANGE",
        SMS,
        "Halfway (newer)",
        attribution={"lastUpdatedOn": "2025-01-01T10:00:00", "lastUpdatedBy": "jdoe"},
    ),
    row(
        9006,
        "CHANGE",
        SMS,
        "Halfway (older)",
        attribution={"lastUpdatedOn": "2025-01-01T10:30:00+05:00", "lastUpdatedBy": [1, 2]},
    ),
    # Undeclared, so pruned: attribution is not an object at all.
    row(9003, "FINISH", EMAIL, "Done!", attribution="n/a"),
    # REMINDER/SMS: ids and offsetDays as numeric strings, no attribution; equal to the manifest.
    row("9004", "REMINDER", str(SMS), "3 days left", offsetDays="3", targetId=str(TARGET)),
    # Inactive, undeclared: odd but harmless values everywhere else.
    row(
        9007,
        "FINISH",
        SMS,
        "Old finish",
        active=False,
        attribution={
            "createdOn": True,
            "lastUpdatedOn": "",
            "createdBy": None,
            "lastUpdatedBy": {"id": {"nested": 1}, "name": 5},
        },
    ),
    row(
        9008,
        "FINISH",
        SMS,
        "Older finish",
        active=False,
        attribution={"lastUpdatedOn": {"when": "now"}, "createdOn": 1e300},
    ),
    row(
        9009,
        "FINISH",
        SMS,
        "Oldest finish",
        active=False,
        attribution={"lastUpdatedOn": "2025-06-24T08:25:55.590+0000", "createdOn": None},
    ),
]


@pytest.fixture
def proxied(repo: Path, sandbox: SandboxServer) -> Proxy:
    body = json.dumps({"data": LIVE, "errors": [], "warnings": None}).encode()

    def rule(seen: Seen, n: int) -> Answer | None:
        if seen.method == "GET" and seen.path == comms(GROUP, TARGET):
            return Answer(200, body, {"Content-Type": "application/json"})
        if seen.method == "POST" and seen.path == comms(GROUP, TARGET) + "/upsert":
            # Stored as sent: the rows exist only in this answer, not in the sandbox.
            stored = [
                {**w, "targetId": TARGET, "targetGroupId": GROUP, "attribution": "?"}
                for w in json.loads(seen.body)
            ]
            return Answer(200, json.dumps({"data": stored, "errors": None}).encode())
        return None

    entries = [
        communication("START", EMAIL, START_TEXT, subject="Hi"),
        communication("CHANGE", SMS, "Halfway (newer)", sender=SENDER),
        communication("REMINDER", SMS, "3 days left", offset=3),
    ]
    (repo / "manifests" / "one.yaml").write_text(manifest("one", GROUP, TARGET, entries))
    proxy = Proxy(sandbox.url, rule)
    write_config(repo, proxy.url)
    return proxy


def test_odd_attribution_and_server_owned_fields_never_make_a_target_unreadable(
    proxied: Proxy, cli: Run
) -> None:
    with proxied:
        code, out, err = cli("plan", "--format", "json", "--detailed-exitcode")
    assert code == 2, err
    assert "could not be read" not in err
    plan = json.loads(out)
    [target] = plan["targets"]
    changes = {(c["action"], c["id"]): c for c in target["changes"]}
    # The match for START/EMAIL is 9001 (epoch millis) over 9002 (unreadable time: oldest).
    update = changes[("update", 9001)]
    assert update["before"]["subjectTemplate"] == ""  # null read as ""
    assert set(update["fields"]) == {"subjectTemplate", "messageTemplate"}
    assert update["lastUpdatedBy"] == {"name": "Jane Doe", "code": "jdoe"}
    assert update["lastUpdatedOn"] == "2024-06-24T08:25:55.590+0000"
    assert ("deactivate", 9002) in changes  # a declared key keeps exactly one active row
    assert changes[("deactivate", 9002)]["lastUpdatedOn"] is None
    # CHANGE/SMS: the naive timestamp, read as UTC, is the newer one.
    assert ("noop", 9005) in changes
    assert ("deactivate", 9006) in changes
    assert ("deactivate", 9003) in changes  # undeclared and active: pruned as usual
    assert ("noop", 9004) in changes  # "9004", "1" and "3" read as numbers: no change
    assert not any(c["id"] in (9007, 9008, 9009) for c in target["changes"])  # inactive


def test_drift_shows_an_unreadable_time_or_actor_as_unknown(proxied: Proxy, cli: Run) -> None:
    with proxied:
        code, out, err = cli("drift")
        assert code == 2, err
        code, markdown, err = cli("drift", "--format", "markdown")
    assert code == 2, err
    lines = {
        line.split(", id ")[1].split(" ")[0]: line for line in out.splitlines() if ", id " in line
    }
    assert "last updated by Jane Doe (jdoe) on 2024-06-24T08:25:55.590+0000" in lines["9001"]
    assert "last updated by Campaign UI (ui), time unknown" in lines["9002"]
    assert "last updated by jdoe" not in lines["9006"]  # a list is no actor
    assert "last updated on 2025-01-01T10:30:00.000+0500" in lines["9006"]
    assert "last updated" not in lines["9003"]  # no attribution worth showing
    assert "last updated by Campaign UI (ui), time unknown" in markdown


def test_apply_writes_through_the_tolerant_read(proxied: Proxy, cli: Run) -> None:
    with proxied:
        code, _out, err = cli("apply", "--auto-approve", "--force")
    assert code == 0, err
    sent = [s for s in proxied.seen if s.method == "POST"]
    assert len(sent) == 1
    body = json.loads(sent[0].body)
    by_id = {w.get("id"): w for w in body}
    assert by_id[9001]["subjectTemplate"] == "Hi"
    assert by_id[9001]["messageTemplate"] == START_TEXT
    assert by_id[9002]["active"] is False
    assert by_id[9002]["subjectTemplate"] == ""
    assert all(isinstance(w.get("id", 0), int) for w in body)


def test_null_data_for_a_target_with_no_rows_is_an_empty_list(
    repo: Path, sandbox: SandboxServer, cli: Run
) -> None:
    empty = json.dumps({"data": None, "errors": [], "warnings": []}).encode()

    def rule(seen: Seen, n: int) -> Answer | None:
        if seen.method == "GET" and seen.path == comms(GROUP, 2318):
            return Answer(200, empty, {"Content-Type": "application/json"})
        return None

    entry = communication("START", EMAIL, START_TEXT, subject="Hi")
    (repo / "manifests" / "one.yaml").write_text(manifest("two", GROUP, 2318, [entry]))
    with Proxy(sandbox.url, rule) as proxy:
        write_config(repo, proxy.url)
        code, out, err = cli("plan", "--format", "json", "--detailed-exitcode")
    assert code == 2, err
    [target] = json.loads(out)["targets"]
    assert [c["action"] for c in target["changes"]] == ["create"]
