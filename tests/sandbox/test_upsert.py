"""The upsert endpoint: the seed document's request, insert/update semantics, validation, and
all-or-nothing writes (SPEC §2 and its assumptions; issue 3, acceptance 1 and 2)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any, get_args

import httpx
import pytest

from reconciler.assumptions import COMMUNICATION_TYPES
from reconciler.sandbox import SandboxServer, basic_header
from reconciler.sandbox.auth import READONLY_PASSWORD, READONLY_USERNAME
from reconciler.sandbox.models import CommunicationType
from tests.support.sandbox import (
    BASIC,
    SEED_DOC_BODY,
    SEED_DOC_COOKIE,
    assert_error,
    comms,
    element,
    upsert,
)

# Every response parameter the documentation lists, with its JSON type.
DOCUMENTED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": int,
    "targetId": int,
    "targetGroupId": int,
    "communicationType": str,
    "channelId": int,
    "subjectTemplate": str,
    "messageTemplate": str,
    "sender": str,
    "offsetDays": int,
    "active": bool,
}
ACTOR_FIELDS: dict[str, type] = {
    "id": int,
    "code": str,
    "description": str,
    "name": str,
    "type": str,
}
JSON = {"Content-Type": "application/json"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def assert_documented_shape(document: dict[str, Any]) -> None:
    assert document["errors"] is None
    assert isinstance(document["data"], list)
    assert document["data"]
    for stored in document["data"]:
        for name, kind in DOCUMENTED_FIELDS.items():
            assert isinstance(stored[name], kind), name
        attribution = stored["attribution"]
        assert TIMESTAMP.match(attribution["createdOn"])
        assert TIMESTAMP.match(attribution["lastUpdatedOn"])
        for who in ("createdBy", "lastUpdatedBy"):
            for name, kind in ACTOR_FIELDS.items():
                assert isinstance(attribution[who][name], kind), (who, name)


def test_the_seed_documents_request_gets_the_documented_answer(sandbox: SandboxServer) -> None:
    response = httpx.post(
        f"{sandbox.url}{upsert(2163, 2317)}",
        content=SEED_DOC_BODY.encode(),
        headers={**BASIC, "Content-Type": "application/json", "Cookie": SEED_DOC_COOKIE},
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert_documented_shape(document)
    assert document["warnings"] is None
    [stored] = document["data"]
    assert stored["targetId"] == 2317
    assert stored["targetGroupId"] == 2163
    assert stored["communicationType"] == "FINISH"
    assert stored["channelId"] == 1
    assert stored["subjectTemplate"] == "Test subjectTemplate changed to FINISH "
    assert stored["offsetDays"] == 1
    assert stored["active"] is True
    attribution = stored["attribution"]
    assert attribution["createdOn"] == attribution["lastUpdatedOn"]  # an insert
    assert attribution["createdBy"] == {
        "id": 75155301,
        "code": "demo",
        "description": "",
        "name": "demo",
        "type": "TILL",
    }
    assert "configs" not in stored  # only the GET carries it


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_seed_documents_curl_command_itself(sandbox: SandboxServer) -> None:
    """The documented curl line, with only the host and the credentials replaced."""
    command = [
        "curl", "--silent", "--location", f"{sandbox.url}{upsert(2163, 2317)}",
        "--header", "Content-Type: application/json",
        "--header", f"Authorization: {BASIC['Authorization']}",
        "--header", f"Cookie: {SEED_DOC_COOKIE}",
        "--data-raw", SEED_DOC_BODY,
        "--write-out", "\n%{http_code}",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout
    body, status = out.rsplit("\n", 1)
    assert status == "200"
    assert_documented_shape(httpx.Response(200, content=body.encode()).json())


def test_an_element_with_id_updates_that_communication(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    before = next(c for c in sandbox.store.communications(2163, 2317) if c["id"] == 5101)
    change = element(
        id=5101,
        channelId=2,
        communicationType="START",
        subjectTemplate="New subject",
        messageTemplate="New message",
        sender="loyalty@northwind.example",
    )
    response = client.post(upsert(2163, 2317), json=[change])
    [stored] = response.json()["data"]
    assert stored["id"] == 5101
    assert stored["subjectTemplate"] == "New subject"
    assert stored["attribution"]["createdOn"] == before["attribution"]["createdOn"]
    assert stored["attribution"]["createdBy"] == before["attribution"]["createdBy"]
    assert stored["attribution"]["lastUpdatedBy"]["name"] == "demo"
    assert stored["attribution"]["lastUpdatedOn"] > before["attribution"]["lastUpdatedOn"]
    live = client.get(comms(2163, 2317)).json()["data"]
    assert [c["id"] for c in live] == [5101, 5102, 5103]  # updated in place, nothing added
    assert next(c for c in live if c["id"] == 5101)["messageTemplate"] == "New message"


def test_elements_without_id_insert_even_duplicates(client: httpx.Client) -> None:
    first = client.post(upsert(2163, 2319), json=[element()]).json()["data"]
    second = client.post(upsert(2163, 2319), json=[element(), element()]).json()["data"]
    ids = [c["id"] for c in first + second]
    assert len(set(ids)) == 3
    live = client.get(comms(2163, 2319)).json()["data"]
    assert [c["id"] for c in live] == sorted(ids)
    assert {(c["communicationType"], c["channelId"]) for c in live} == {("FINISH", 1)}


def test_the_answer_follows_the_order_sent(client: httpx.Client) -> None:
    body = [
        element(communicationType="START"),
        element(id=5113, communicationType="REMINDER", offsetDays=5, active=False),
        element(communicationType="CHANGE", channelId=3),
    ]
    data = client.post(upsert(2163, 2318), json=body).json()["data"]
    assert [(c["communicationType"], c["channelId"]) for c in data] == [
        ("START", 1),
        ("REMINDER", 1),
        ("CHANGE", 3),
    ]
    assert data[1]["id"] == 5113
    assert data[1]["active"] is False
    assert data[0]["id"] < data[2]["id"]


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ([element(communicationType="SOMETIMES")], ["body[0].communicationType", "'START'"]),
        ([element(channelId=9)], ["body[0].channelId: channel 9 does not exist"]),
        ([element(offsetDays="3")], ["body[0].offsetDays: Input should be a valid integer"]),
        ([element(offsetDays=2.5)], ["body[0].offsetDays"]),
        ([element(active=1)], ["body[0].active: Input should be a valid boolean"]),
        ([element(sender=7)], ["body[0].sender: Input should be a valid string"]),
        ([element(offsetDays=-1)], ["body[0].offsetDays", "greater than or equal to 0"]),
        ([element(channel="EMAIL")], ["body[0].channel: unknown field"]),
        (
            [{k: v for k, v in element().items() if k != "sender"}],
            ["body[0].sender: field required"],
        ),
        ([element(), None], ["body[1]"]),
        ([element(id=5141)], ["belongs to target 2501 of target group 2185"]),
        ([element(id=999999)], ["communication 999999 does not exist"]),
        ([element(id=5101), element(id=5101)], ["communication 5101 appears twice"]),
        ([element(messageTemplate="\ud800")], ["body[0].messageTemplate", "surrogates"]),
        ([], ["at least one communication"]),
        ({"communications": [element()]}, ["must be a JSON array"]),
        ("FINISH", ["must be a JSON array"]),
    ],
)
def test_invalid_bodies_are_400_envelopes_and_write_nothing(
    sandbox: SandboxServer, client: httpx.Client, body: object, fragments: list[str]
) -> None:
    before = sandbox.store.communications(2163, 2317)
    # json.dumps escapes a lone surrogate as \\ud800, which httpx's encoder would refuse.
    raw = json.dumps(body).encode()
    response = client.post(upsert(2163, 2317), content=raw, headers=JSON)
    assert_error(response, 400, 300004, *fragments)
    assert sandbox.store.communications(2163, 2317) == before
    assert sandbox.store.request_log()[-1].committed is False


def test_a_body_that_is_not_json_is_a_400(client: httpx.Client) -> None:
    response = client.post(upsert(), content=b'[{"active": tru', headers=JSON)
    assert_error(response, 400, 300004, "not valid JSON")


def test_every_problem_is_reported_at_once(client: httpx.Client) -> None:
    body = [element(channelId=9), element(communicationType="X", offsetDays="1")]
    response = client.post(upsert(2163, 2317), json=body)
    assert_error(response, 400, 300004, "body[1].communicationType", "body[1].offsetDays")


def test_one_bad_element_rejects_the_whole_body(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    good = element(communicationType="START")
    bad = element(channelId=42)
    assert_error(client.post(upsert(2163, 2319), json=[good, bad]), 400, 300004, "channel 42")
    assert sandbox.store.communications(2163, 2319) == []


def test_whole_numbers_written_as_floats_are_integers(client: httpx.Client) -> None:
    """JSON has one number type; 3.0 is the integer 3 (JSON Schema and Jackson agree)."""
    [stored] = client.post(upsert(2163, 2319), json=[element(offsetDays=3.0)]).json()["data"]
    assert stored["offsetDays"] == 3
    assert isinstance(stored["offsetDays"], int)


def test_a_read_only_login_may_read_but_not_write(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    reader = {"Authorization": basic_header(READONLY_USERNAME, READONLY_PASSWORD)}
    assert httpx.get(f"{sandbox.url}{comms()}", headers=reader).status_code == 200
    response = httpx.post(f"{sandbox.url}{upsert()}", json=[element()], headers=reader)
    assert_error(response, 403, 403, "access denied")
    assert len(sandbox.store.communications(2163, 2317)) == 3


def test_a_post_that_is_not_json_is_a_415(client: httpx.Client) -> None:
    response = client.post(upsert(), content=b"[]", headers={"Content-Type": "text/plain"})
    assert_error(response, 415, 415, "application/json")


def test_the_sandbox_accepts_exactly_the_assumed_communication_types() -> None:
    assert get_args(CommunicationType) == COMMUNICATION_TYPES
