"""The upsert bodies a target's writes go out in, per contract (SPEC §6, §9; issue 16): the default
sends them as planned in one array; ``replace`` adds every other active live row as it is;
``keepsServerFields: false`` echoes each row's server fields; ``object`` sends one per request."""

from __future__ import annotations

from typing import Any

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.applier.body import contract_problem, needs_live, request_bodies
from reconciler.contract import Contract

CONFIGS = [{"name": "senderName", "value": "Northwind"}]


def row(id: int, kind: str = "START", channel: int = 1, **fields: Any) -> Communication:
    values = {"sender": "S", "subjectTemplate": "", "messageTemplate": f"m{id}", "offsetDays": 0}
    return Communication.model_validate(
        {"id": id, "communicationType": kind, "channelId": channel, "active": True}
        | values
        | fields
    )


def write(
    id: int | None, kind: str = "START", channel: int = 1, **fields: Any
) -> CommunicationWrite:
    values = {"sender": "S", "subjectTemplate": "", "messageTemplate": "new", "offsetDays": 0}
    return CommunicationWrite(
        id=id, communicationType=kind, channelId=channel, **({"active": True} | values | fields)
    )


LIVE = [
    row(1, "START", configs=CONFIGS),
    row(2, "FINISH", configs=[], supportedCommChannels=["SMS"]),
    row(3, "REMINDER", active=False),
    row(4, "CHANGE", 9, configs=CONFIGS),  # unmanaged (unknown channel) but active: kept
]
WRITES = [write(1), write(None, "CHANGE"), write(2, "FINISH", active=False)]


def bodies(contract: Contract) -> list[list[dict[str, Any]]]:
    return [[w.to_body() for w in body] for body in request_bodies(WRITES, contract, LIVE)]


def test_the_assumptions_send_the_writes_as_planned_in_one_request() -> None:
    assert bodies(Contract()) == [[w.to_body() for w in WRITES]]
    assert request_bodies([], Contract(), LIVE) == []
    assert not needs_live(Contract())
    assert not needs_live(Contract(body="object", match="type"))


def test_replace_carries_every_active_row_the_writes_leave_out_as_it_is() -> None:
    [body] = bodies(Contract(upsert="replace"))
    assert body[:3] == [w.to_body() for w in WRITES]
    assert body[3:] == [
        {
            "id": 4,
            "communicationType": "CHANGE",
            "channelId": 9,
            "active": True,
            "sender": "S",
            "subjectTemplate": "",
            "messageTemplate": "m4",
            "offsetDays": 0,
        }
    ]  # 3 is inactive: nothing to keep; no server field goes back unasked
    assert needs_live(Contract(upsert="replace"))


def test_an_api_that_drops_server_fields_gets_each_rows_back() -> None:
    [body] = bodies(Contract(keepsServerFields=False))
    assert body[0] == {"configs": CONFIGS, **WRITES[0].to_body()}
    assert body[1] == WRITES[1].to_body()  # a create has no live row
    assert body[2] == {"configs": [], "supportedCommChannels": ["SMS"], **WRITES[2].to_body()}
    assert needs_live(Contract(keepsServerFields=False))


def test_an_echo_never_overrides_a_written_field_and_a_repairs_own_fields_win() -> None:
    sneaky = row(1, configs=CONFIGS, messageTemplate="live")
    own = write(1, echo={"configs": [{"name": "restored", "value": "1"}], "active": False})
    [[echoed]] = request_bodies([own], Contract(keepsServerFields=False), [sneaky])
    body = echoed.to_body()
    assert body["configs"] == [{"name": "restored", "value": "1"}]
    assert (body["active"], body["messageTemplate"]) == (True, "new")


def test_replace_and_server_fields_together_keep_rows_whole() -> None:
    [body] = bodies(Contract(upsert="replace", keepsServerFields=False))
    assert body[3]["configs"] == CONFIGS
    assert body[3]["id"] == 4


def test_object_body_sends_one_communication_per_request() -> None:
    assert bodies(Contract(body="object")) == [[w.to_body()] for w in WRITES]


def test_a_replacing_upsert_of_one_object_is_refused_before_anything_is_sent() -> None:
    problem = contract_problem(Contract(upsert="replace", body="object"))
    assert problem is not None
    assert "every request would deactivate the rest" in problem
    assert "SPEC" not in problem
    assert contract_problem(Contract(upsert="replace")) is None
    assert contract_problem(Contract(body="object")) is None
