"""Sandbox dialects over real HTTP: each one answers as its reading of the API does, and the
default sandbox as SPEC §2 assumes (issue 16). Demo target 2317 holds START/EMAIL 5101,
REMINDER/SMS 5102 and CHANGE/EMAIL 5103; 2318 holds START 5111, inactive FINISH 5112, REMINDER 5113.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import main
from reconciler.errors import UsageError
from reconciler.sandbox import IN_PROCESS_URL, SandboxServer, create_app, in_process_transport
from reconciler.sandbox.dialects import DIALECTS
from reconciler.sandbox.store import open_store
from tests.support.sandbox import BASIC, assert_error, comms, element, upsert

Connect = Callable[..., httpx.Client]
EMAIL, SMS, PUSH = 2, 1, 3
INVALID_INPUT = 300004
START_5101 = element(
    id=5101,
    communicationType="START",
    channelId=EMAIL,
    messageTemplate="Spend 500 this April.",
    sender="loyalty@northwind.example",
    subjectTemplate="Welcome",
)


@pytest.fixture
def connect(sandbox_factory: Callable[..., SandboxServer]) -> Iterator[Connect]:
    """``connect("key-match", ...)``: a client on a fresh server speaking those dialects."""
    clients: list[httpx.Client] = []

    def open_client(*dialects: str, **settings: Any) -> httpx.Client:
        server = sandbox_factory(dialects=list(dialects), **settings)
        client = httpx.Client(base_url=server.url, headers=BASIC, timeout=10)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["errors"] is None
    return document["data"]


def listed(client: httpx.Client, target: int = 2317, group: int = 2163) -> dict[Any, Any]:
    """The target's GET answer, by id."""
    return {row["id"]: row for row in data(client.get(comms(group, target)))}


# -- replace-set ------------------------------------------------------------------------------


def test_replace_set_deactivates_the_active_rows_a_body_leaves_out(connect: Connect) -> None:
    client = connect("replace-set")
    data(client.post(upsert(), json=[START_5101]))
    rows = listed(client)
    assert {i: r["active"] for i, r in rows.items()} == {5101: True, 5102: False, 5103: False}
    # Stamped as written by the caller (the demo till), not by the seed's actor any more.
    assert rows[5102]["attribution"]["lastUpdatedBy"]["code"] == "demo"
    assert rows[5102]["messageTemplate"].startswith("{{first_name}}, 3 days left")  # only active


def test_replace_set_leaves_inactive_rows_and_other_targets_alone(connect: Connect) -> None:
    client = connect("replace-set")
    before = listed(client, 2318)
    start = before[5111]
    body = {k: start[k] for k in element()} | {"id": 5111}
    data(client.post(upsert(2163, 2318), json=[body]))
    after = listed(client, 2318)
    assert {i: r["active"] for i, r in after.items()} == {5111: True, 5112: False, 5113: False}
    assert after[5112] == before[5112]  # already inactive: not written again
    assert {r["active"] for r in listed(client).values()} == {True}  # 2317 untouched


def test_the_default_keeps_the_rows_a_body_leaves_out(connect: Connect) -> None:
    client = connect()
    before = listed(client)
    data(client.post(upsert(), json=[START_5101]))
    after = listed(client)
    assert {i: r["active"] for i, r in after.items()} == {5101: True, 5102: True, 5103: True}
    assert after[5102] == before[5102]
    assert after[5103] == before[5103]


# -- key-match and type-match -----------------------------------------------------------------


def test_key_match_ignores_id_and_matches_on_type_and_channel(connect: Connect) -> None:
    client = connect("key-match")
    before = listed(client)
    # The id is 5101's (START/EMAIL), the key is 5102's (REMINDER/SMS): the key wins.
    body = element(id=5101, communicationType="REMINDER", channelId=SMS, messageTemplate="Soon!")
    (stored,) = data(client.post(upsert(), json=[body]))
    assert stored["id"] == 5102
    rows = listed(client)
    assert rows[5102]["messageTemplate"] == "Soon!"
    assert rows[5101] == before[5101]
    assert set(rows) == {5101, 5102, 5103}


def test_key_match_updates_an_existing_key_sent_without_id(connect: Connect) -> None:
    client = connect("key-match")
    body = {k: v for k, v in START_5101.items() if k != "id"}
    (stored,) = data(client.post(upsert(), json=[body]))
    assert stored["id"] == 5101
    assert set(listed(client)) == {5101, 5102, 5103}  # no second START/EMAIL
    assert listed(client)[5101]["messageTemplate"] == "Spend 500 this April."


def test_key_match_inserts_a_new_key_whatever_id_it_carries(connect: Connect) -> None:
    client = connect("key-match")
    # 5141 belongs to another group's target: the default refuses it, key-match ignores it.
    body = element(id=5141, communicationType="FINISH", channelId=PUSH)
    (stored,) = data(client.post(upsert(), json=[body]))
    assert stored["id"] not in (5101, 5102, 5103, 5141)
    assert set(listed(client)) == {5101, 5102, 5103, stored["id"]}
    assert listed(client, 2501, 2185)[5141]["communicationType"] == "START"  # untouched


def test_key_match_picks_the_first_row_of_a_duplicated_key(connect: Connect) -> None:
    client = connect("key-match")
    before = listed(client, 2402, 2170)  # 5131 and 5132 are both START/EMAIL
    body = element(id=5132, communicationType="START", channelId=EMAIL, active=False)
    (stored,) = data(client.post(upsert(2170, 2402), json=[body]))
    assert stored["id"] == 5131
    after = listed(client, 2402, 2170)
    assert (after[5131]["active"], after[5132]) == (False, before[5132])


def test_the_default_honours_id_and_inserts_without_it(connect: Connect) -> None:
    client = connect()
    body = element(id=5101, communicationType="REMINDER", channelId=SMS, messageTemplate="Soon!")
    (stored,) = data(client.post(upsert(), json=[body]))
    assert stored["id"] == 5101
    assert (listed(client)[5101]["communicationType"], listed(client)[5101]["channelId"]) == (
        "REMINDER",
        SMS,
    )
    without_id = {k: v for k, v in START_5101.items() if k != "id"}
    (second,) = data(client.post(upsert(), json=[without_id]))
    assert second["id"] not in (5101, 5102, 5103)
    assert len(listed(client)) == 4
    foreign = element(id=5141, communicationType="FINISH", channelId=PUSH)
    assert_error(client.post(upsert(), json=[foreign]), 400, INVALID_INPUT, "belongs to target")


def test_type_match_overwrites_the_channel_of_the_types_row(connect: Connect) -> None:
    client = connect("type-match")
    body = element(communicationType="CHANGE", channelId=PUSH, messageTemplate="Halfway!")
    (stored,) = data(client.post(upsert(), json=[body]))
    assert stored["id"] == 5103
    rows = listed(client)
    assert set(rows) == {5101, 5102, 5103}  # the target cannot hold CHANGE twice
    assert (rows[5103]["channelId"], rows[5103]["messageTemplate"]) == (PUSH, "Halfway!")


def test_type_match_ignores_id_too(connect: Connect) -> None:
    client = connect("type-match")
    before = listed(client)
    body = element(id=5101, communicationType="REMINDER", channelId=EMAIL)
    (stored,) = data(client.post(upsert(), json=[body]))
    assert stored["id"] == 5102
    assert listed(client)[5101] == before[5101]
    assert listed(client)[5102]["channelId"] == EMAIL


@pytest.mark.parametrize("dialects", [(), ("key-match",)])
def test_a_second_channel_for_a_type_is_a_second_row_elsewhere(
    connect: Connect, dialects: tuple[str, ...]
) -> None:
    client = connect(*dialects)
    body = element(communicationType="CHANGE", channelId=PUSH)
    (stored,) = data(client.post(upsert(), json=[body]))
    rows = listed(client)
    assert stored["id"] not in (5101, 5102, 5103)
    assert (rows[5103]["channelId"], rows[stored["id"]]["channelId"]) == (EMAIL, PUSH)


# -- hide-inactive ----------------------------------------------------------------------------


def test_hide_inactive_leaves_inactive_rows_out_of_the_get(connect: Connect) -> None:
    assert set(listed(connect("hide-inactive"), 2318)) == {5111, 5113}
    assert set(listed(connect(), 2318)) == {5111, 5112, 5113}


def test_hide_inactive_still_updates_a_hidden_row_by_id(connect: Connect) -> None:
    client = connect("hide-inactive")
    body = element(id=5112, channelId=SMS, messageTemplate="Edited while paused", active=False)
    (stored,) = data(client.post(upsert(2163, 2318), json=[body]))
    assert (stored["id"], stored["active"], stored["messageTemplate"]) == (
        5112,
        False,
        "Edited while paused",
    )
    assert 5112 not in listed(client, 2318)
    data(client.post(upsert(2163, 2318), json=[{**body, "active": True}]))
    assert listed(client, 2318)[5112]["messageTemplate"] == "Edited while paused"


def test_hide_inactive_hides_what_an_upsert_deactivates(connect: Connect) -> None:
    client = connect("hide-inactive")
    row = listed(client)[5103]
    data(
        client.post(upsert(), json=[{k: row[k] for k in element()} | {"id": 5103, "active": False}])
    )
    assert set(listed(client)) == {5101, 5102}


# -- drop-server-fields -----------------------------------------------------------------------


def test_drop_server_fields_seeds_configs_on_every_row(connect: Connect) -> None:
    rows = listed(connect("drop-server-fields"))
    assert rows[5101]["configs"] == [
        {"name": "senderName", "value": "Northwind Rewards"},
        {"name": "replyTo", "value": "care@northwind.example"},
    ]
    assert rows[5101]["supportedCommChannels"] == ["EMAIL"]
    assert rows[5102]["configs"] == [{"name": "dltTemplateId", "value": "1107161234567890123"}]
    assert rows[5102]["supportedCommChannels"] == ["SMS"]


def test_drop_server_fields_empties_them_on_an_update_without_them(connect: Connect) -> None:
    client = connect("drop-server-fields")
    (stored,) = data(client.post(upsert(), json=[START_5101]))
    assert "configs" not in stored  # the upsert answer never carries them
    rows = listed(client)
    assert (rows[5101]["configs"], rows[5101]["supportedCommChannels"]) == ([], [])
    assert rows[5102]["configs"] != []  # rows not written keep theirs


def test_drop_server_fields_keeps_what_an_update_sends_back(connect: Connect) -> None:
    client = connect("drop-server-fields")
    live = listed(client)[5101]
    echoed = {
        **START_5101,
        "configs": live["configs"],
        "supportedCommChannels": live["supportedCommChannels"],
    }
    data(client.post(upsert(), json=[echoed]))
    after = listed(client)[5101]
    assert (after["configs"], after["supportedCommChannels"]) == (
        live["configs"],
        live["supportedCommChannels"],
    )
    assert after["messageTemplate"] == "Spend 500 this April."


def test_drop_server_fields_gives_a_new_row_the_servers_defaults(connect: Connect) -> None:
    client = connect("drop-server-fields")
    (stored,) = data(client.post(upsert(2163, 2319), json=[element(channelId=PUSH)]))
    row = listed(client, 2319)[stored["id"]]
    assert row["configs"] == [{"name": "deepLink", "value": "northwind://rewards"}]
    sent = element(channelId=SMS, configs=[{"name": "a", "value": "b"}])
    (mine,) = data(client.post(upsert(2163, 2319), json=[sent]))
    assert listed(client, 2319)[mine["id"]]["configs"] == [{"name": "a", "value": "b"}]


def test_drop_server_fields_lag_shows_the_fields_before_the_write(connect: Connect) -> None:
    client = connect("drop-server-fields", read_lag_ms=60_000)
    before = listed(client)[5101]
    data(client.post(upsert(), json=[START_5101]))
    assert listed(client)[5101] == before


def test_the_default_keeps_server_fields_an_update_does_not_carry(
    connect: Connect, sandbox_db: Path
) -> None:
    client = connect()
    assert listed(client)[5101]["configs"] == []  # the demo seed sets none
    assert "supportedCommChannels" not in listed(client)[5101]
    open_store(sandbox_db).set_server_fields(
        5101, [{"name": "senderName", "value": "NW"}], ["EMAIL"]
    )
    data(client.post(upsert(), json=[START_5101]))
    row = listed(client)[5101]
    assert row["messageTemplate"] == "Spend 500 this April."
    assert (row["configs"], row["supportedCommChannels"]) == (
        [{"name": "senderName", "value": "NW"}],
        ["EMAIL"],
    )
    refused = client.post(upsert(), json=[{**START_5101, "configs": []}])
    assert_error(refused, 400, INVALID_INPUT, "body[0].configs: unknown field")


# -- string-ids -------------------------------------------------------------------------------


def test_string_ids_answer_every_id_as_its_digits(connect: Connect) -> None:
    client = connect("string-ids")
    row = data(client.get(comms()))[0]
    assert (row["id"], row["targetId"], row["targetGroupId"], row["channelId"]) == (
        "5101",
        "2317",
        "2163",
        "2",
    )
    assert row["offsetDays"] == 0  # only ids change
    assert row["active"] is True
    assert row["attribution"]["createdBy"]["id"] == "75155297"
    assert [c["id"] for c in data(client.get("/v3/targetGroups/channels"))] == ["1", "2", "3"]
    target = data(client.get("/v3/targetGroups/2163/targets"))[0]
    assert (target["id"], target["targetGroupId"]) == ("2317", "2163")
    assert data(client.get("/v3/targetGroups/2163"))["id"] == "2163"
    assert [g["id"] for g in data(client.get("/v3/targetGroups"))] == ["2163", "2170", "2185"]


def test_string_ids_accept_ids_as_strings_in_the_body(connect: Connect) -> None:
    client = connect("string-ids")
    (stored,) = data(client.post(upsert(), json=[{**START_5101, "id": "5101", "channelId": "2"}]))
    assert (stored["id"], stored["channelId"], stored["messageTemplate"]) == (
        "5101",
        "2",
        "Spend 500 this April.",
    )


def test_the_default_answers_ids_as_numbers_and_refuses_strings(connect: Connect) -> None:
    client = connect()
    row = data(client.get(comms()))[0]
    assert (row["id"], row["targetId"], row["targetGroupId"], row["channelId"]) == (
        5101,
        2317,
        2163,
        2,
    )
    refused = client.post(upsert(), json=[{**START_5101, "channelId": "2"}])
    assert_error(refused, 400, INVALID_INPUT, "body[0].channelId")


# -- object-body ------------------------------------------------------------------------------


def test_object_body_refuses_an_array_with_the_envelope(connect: Connect) -> None:
    client = connect("object-body")
    before = listed(client)
    response = client.post(upsert(), json=[START_5101])
    assert_error(response, 400, INVALID_INPUT, "the body must be one JSON object")
    assert response.json()["errors"] == [
        {
            "code": INVALID_INPUT,
            "message": "the body must be one JSON object (a communication), not an array",
        }
    ]
    assert listed(client) == before


def test_object_body_writes_one_object_and_answers_it(connect: Connect) -> None:
    client = connect("object-body")
    stored = data(client.post(upsert(), json=START_5101))
    assert isinstance(stored, dict)
    assert (stored["id"], stored["messageTemplate"]) == (5101, "Spend 500 this April.")
    created = data(client.post(upsert(2163, 2319), json=element()))
    assert set(listed(client, 2319)) == {created["id"]}
    empty = client.post(upsert(), content=b"", headers={"Content-Type": "application/json"})
    assert_error(empty, 400, INVALID_INPUT, "the body must be one JSON object")


def test_the_default_refuses_a_single_object(connect: Connect) -> None:
    response = connect().post(upsert(), json=START_5101)
    assert_error(response, 400, INVALID_INPUT, "the body must be a JSON array of communications")


# -- combinations, wiring ---------------------------------------------------------------------


def test_dialects_combine(connect: Connect) -> None:
    client = connect(
        "key-match", "replace-set", "hide-inactive", "string-ids", "drop-server-fields"
    )
    body = element(communicationType="REMINDER", channelId="1", messageTemplate="Only me")
    (stored,) = data(client.post(upsert(), json=[body]))
    assert stored["id"] == "5102"  # matched by key, answered as a string
    rows = listed(client)
    assert list(rows) == ["5102"]  # the others were deactivated, so hidden
    assert rows["5102"]["configs"] == []  # written without configs: emptied


def test_object_body_with_key_match_matches_one_object_by_key(connect: Connect) -> None:
    client = connect("object-body", "key-match")
    stored = data(client.post(upsert(), json=element(communicationType="CHANGE", channelId=EMAIL)))
    assert stored["id"] == 5103


@pytest.mark.parametrize(
    ("dialects", "message"),
    [
        (
            ["key-match", "type-match"],
            "the sandbox dialects key-match and type-match cannot be combined: a server "
            "matches rows on one key, not two",
        ),
        (
            ["object-body", "replace-set"],
            "the sandbox dialects replace-set and object-body cannot be combined: a one-object "
            "body that replaces the target's whole set would leave at most one active "
            "communication on every target",
        ),
        (
            ["replace-set", "merge"],
            "unknown sandbox dialect 'merge'; choose from replace-set, key-match, type-match, "
            "hide-inactive, drop-server-fields, string-ids, object-body, first-element",
        ),
    ],
)
def test_an_impossible_combination_is_refused_before_anything_starts(
    sandbox_db: Path, dialects: list[str], message: str
) -> None:
    with pytest.raises(UsageError) as server_error:
        SandboxServer(sandbox_db, dialects=dialects)
    assert server_error.value.message == message
    with pytest.raises(UsageError, match=r"cannot be combined|unknown sandbox dialect"):
        create_app(sandbox_db, dialects=dialects)
    with pytest.raises(UsageError, match=r"cannot be combined|unknown sandbox dialect"):
        in_process_transport(sandbox_db, dialects=dialects)


@pytest.mark.parametrize("name", list(DIALECTS))
def test_each_dialect_describes_itself_in_openapi(connect: Connect, name: str) -> None:
    document = connect(name).get("/openapi.json").json()
    assert document["info"]["description"].endswith(f" Dialects: {name}.")
    operation = document["paths"][
        "/v3/targetGroups/{targetGroupId}/targets/{targetId}/communications/upsert"
    ]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert ("$ref" in body) is (name == "object-body")  # one object, or an array of them
    element = document["components"]["schemas"][
        "ServerFieldsElement" if name == "drop-server-fields" else "UpsertElement"
    ]
    assert ("configs" in element["properties"]) is (name == "drop-server-fields")


def test_a_dialect_named_twice_counts_once(connect: Connect) -> None:
    assert set(listed(connect("hide-inactive", "hide-inactive"), 2318)) == {5111, 5113}


def test_sandbox_serve_refuses_an_impossible_combination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sandbox", "serve", "--port", "0", "--db", str(tmp_path / "s.db")]
    code = main([*argv, "--dialect", "key-match", "--dialect", "type-match"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert "key-match and type-match cannot be combined" in err
    assert not (tmp_path / "sandbox.json").exists()


def test_sandbox_serve_help_lists_every_dialect(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--dialect <name>" in text
    text = text.replace("- ", "-")  # the help wraps lines after a hyphen too
    for name in DIALECTS:
        assert name in text


def test_the_in_process_sandbox_speaks_dialects_too(sandbox_db: Path) -> None:
    async def read() -> Any:
        transport = in_process_transport(sandbox_db, dialects=["string-ids", "hide-inactive"])
        async with httpx.AsyncClient(
            transport=transport, base_url=IN_PROCESS_URL, headers=BASIC
        ) as client:
            return data(await client.get(comms(2163, 2318)))

    assert [row["id"] for row in asyncio.run(read())] == ["5111", "5113"]


def test_a_schema_version_1_database_is_migrated(sandbox_db: Path) -> None:
    with sqlite3.connect(sandbox_db) as conn:
        conn.execute("ALTER TABLE communications DROP COLUMN serverFields")
        conn.execute("PRAGMA user_version = 1")
    store = open_store(sandbox_db)
    assert [c["id"] for c in store.communications(2163, 2318)] == [5111, 5112, 5113]
    store.set_server_fields(5111, [{"name": "k", "value": "v"}])
    assert store.stored_communications(2163, 2318)[0][1] == {
        "configs": [{"name": "k", "value": "v"}],
        "supportedCommChannels": [],
    }
    store.close()
    with sqlite3.connect(sandbox_db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
