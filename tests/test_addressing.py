"""The planner under the contract's ``match`` and ``inactiveRowsVisible`` (SPEC §9, issue 16):
rows a key- or type-matching write cannot single out are left alone and named, a type-matching
API moves a channel in place, two channels for one type are refused with a position, and hidden
inactive rows make a re-activation a create that says why. The default contract plans as before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.addressing import shared_groups, types_declared_twice
from reconciler.api.wire import Communication
from reconciler.contract import Contract
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.manifests import load_manifests
from reconciler.plan import REASON_HIDDEN_INACTIVE, Key, Plan
from reconciler.planner import assemble_plan, plan_target

NOW = datetime(2026, 3, 1, tzinfo=UTC)
BASE = {"sender": "S", "subjectTemplate": "", "messageTemplate": "m", "offsetDays": 0}
SMS, EMAIL = 1, 2
CHANNELS = {SMS: "SMS", EMAIL: "EMAIL"}
KEY, TYPE = Contract(match="key"), Contract(match="type")


def want(typ: str = "START", channel: int = SMS, **fields: Any) -> DesiredCommunication:
    return DesiredCommunication(
        typ, channel, source=Source("m.yaml", 3, 5), **{**BASE, "active": True, **fields}
    )


def have(
    id: int, typ: str = "START", channel: int = SMS, on: int = 0, **fields: Any
) -> Communication:
    stamp = (NOW + timedelta(minutes=on)).isoformat()
    return Communication.model_validate(
        {
            "id": id,
            "communicationType": typ,
            "channelId": channel,
            "attribution": {"lastUpdatedOn": stamp},
            **{**BASE, "active": True, **fields},
        }
    )


def target(*comms: DesiredCommunication, prune: bool = True) -> DesiredTarget:
    return DesiredTarget("t", 1, 10, prune, tuple(comms), Source("m.yaml", 1, 1))


def actions(plan: Any) -> list[tuple[str, str, int, int | None]]:
    return [
        (c.action, c.key.communicationType, c.key.channelId, c.id)
        for c in plan.changes
        if c.action != "noop"
    ]


def test_an_api_matching_by_id_has_no_rows_a_write_cannot_single_out() -> None:
    live = [have(1), have(2)]
    assert shared_groups(live, "id") == {}
    assert set(shared_groups(live, "key")) == {Key(communicationType="START", channelId=SMS)}
    assert shared_groups([have(1), have(2, channel=EMAIL)], "key") == {}
    assert set(shared_groups([have(1), have(2, channel=EMAIL)], "type")) == {"START"}


def test_live_duplicates_under_key_match_are_named_and_left_alone() -> None:
    """The default contract deactivates the older duplicate by id; a server matching by key
    would write that into whichever row it finds, so nothing of the key is written."""
    live = [have(1, on=1, messageTemplate="old"), have(2, on=2, messageTemplate="older")]
    wanted = target(want(messageTemplate="new"))
    default = plan_target(wanted, live, channels=CHANNELS)
    assert actions(default) == [("deactivate", "START", SMS, 1), ("update", "START", SMS, 2)]

    planned = plan_target(wanted, live, channels=CHANNELS, contract=KEY)
    assert actions(planned) == []
    [warning] = planned.warnings
    assert "2 live communications share key START on SMS (channelId 1) (ids 1, 2)" in warning
    assert "matches an upsert by (communicationType, channelId), not by id" in warning
    assert "not planned: update START on SMS (channelId 1)" in warning


def test_an_inactive_row_of_the_key_also_makes_it_ambiguous_under_key_match() -> None:
    live = [have(1, active=False), have(2)]
    planned = plan_target(target(want()), live, channels=CHANNELS, contract=KEY)
    assert actions(planned) == []
    assert [c.action for c in planned.changes] == ["noop"]  # as declared: nothing to write
    assert "none of them is written" in planned.warnings[0]


def test_a_single_row_per_key_plans_as_the_default_under_key_match() -> None:
    live = [have(1, messageTemplate="old"), have(2, "FINISH")]
    wanted = target(want(messageTemplate="new"))
    assert plan_target(wanted, live, contract=KEY) == plan_target(wanted, live)


def test_a_channel_move_is_one_update_of_the_same_row_under_type_match() -> None:
    live = [have(7, "CHANGE", EMAIL, messageTemplate="Halfway")]
    wanted = target(want("CHANGE", SMS, messageTemplate="Halfway"))
    default = plan_target(wanted, live, channels=CHANNELS)
    assert actions(default) == [("deactivate", "CHANGE", EMAIL, 7), ("create", "CHANGE", SMS, None)]

    [move] = plan_target(wanted, live, channels=CHANNELS, contract=TYPE).changes
    assert (move.action, move.id, move.key.channelId) == ("update", 7, SMS)
    assert move.fields == ("channelId",)
    assert move.before is not None
    assert move.before.channelId == EMAIL
    assert (
        move.reason
        == "channel move from CHANGE on EMAIL (channelId 2), in place (one row per type)"
    )
    assert move.write().model_dump(exclude={"echo"}) == {
        "id": 7,
        "communicationType": "CHANGE",
        "channelId": SMS,
        "active": True,
        **{**BASE, "messageTemplate": "Halfway"},
    }


def test_a_move_to_an_inactive_row_reactivates_it_in_place() -> None:
    live = [have(7, "CHANGE", EMAIL, active=False)]
    [move] = plan_target(target(want("CHANGE", SMS)), live, contract=TYPE).changes
    assert (move.action, move.fields) == ("update", ("channelId", "active"))


def test_two_rows_of_one_type_under_type_match_are_left_alone() -> None:
    live = [have(1, "START", SMS), have(2, "START", EMAIL)]
    planned = plan_target(target(want("START", SMS)), live, channels=CHANNELS, contract=TYPE)
    assert actions(planned) == []  # the default would deactivate 2 (prune) by its id
    assert "share communicationType START (ids 1, 2)" in planned.warnings[0]
    assert "not planned: deactivate START on EMAIL (channelId 2)" in planned.warnings[0]


def test_hidden_inactive_rows_make_every_create_say_so() -> None:
    hidden = Contract(inactiveRowsVisible=False)
    wanted = target(want("FINISH"), want("START", EMAIL))
    live = [have(5, "START", SMS)]
    planned = plan_target(wanted, live, channels=CHANNELS, contract=hidden)
    creates = [c for c in planned.changes if c.action == "create"]
    assert [c.key.communicationType for c in creates] == ["START", "FINISH"]
    # A lone create beside a deactivation of its type is still named a channel move.
    assert [c.reason for c in creates] == [
        "channel move from START on SMS (channelId 1)",
        REASON_HIDDEN_INACTIVE,
    ]
    default = plan_target(wanted, live, channels=CHANNELS)
    assert [c.reason for c in default.changes if c.action == "create"] == [
        "channel move from START on SMS (channelId 1)",
        None,
    ]


def test_a_plan_names_its_contract_only_when_it_is_not_the_assumptions() -> None:
    planned = [plan_target(target(want()), [])]
    default = assemble_plan(planned, "test", NOW)
    assert default.contract is None
    assert '"contract"' not in default.to_json()
    assert assemble_plan(planned, "test", NOW, contract=Contract()).to_json() == default.to_json()

    objects = assemble_plan(planned, "test", NOW, contract=Contract(body="object"))
    saved = objects.to_json()
    assert '"contract": {' in saved
    assert Plan.from_json(saved).contract == Contract(body="object")
    assert objects.upsert_requests == 1
    assert default.upsert_requests == 1


def test_one_upsert_request_per_communication_under_object_body() -> None:
    wanted = target(want("START"), want("FINISH"), want("REMINDER"))
    planned = [plan_target(wanted, [have(9, "CHANGE")])]
    assert assemble_plan(planned, "test", NOW).upsert_requests == 1
    assert (
        assemble_plan(planned, "test", NOW, contract=Contract(body="object")).upsert_requests == 4
    )


def _documents(tmp_path: Path, text: str) -> list[Any]:
    (tmp_path / "m.yaml").write_text(text)
    result = load_manifests(["m.yaml"], root=tmp_path)
    assert result.diagnostics == []
    return result.documents


MANIFEST = """\
apiVersion: reconciler/v1
kind: TargetCommunications
metadata: {name: one}
target: {targetGroup: 1, target: 10}
communications:
  - {communicationType: START, channel: EMAIL, sender: s, messageTemplate: m}
  - {communicationType: FINISH, channel: EMAIL, sender: s, messageTemplate: m}
  - {communicationType: START, channelId: 1, sender: s, messageTemplate: m}
"""


def test_two_channels_for_one_type_are_refused_at_the_second_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    [problem] = types_declared_twice(_documents(tmp_path, MANIFEST))
    assert problem.render().startswith("m.yaml:8:5: START is declared on EMAIL (at m.yaml:6:5)")
    assert problem.message.startswith(
        "START is declared on EMAIL (at m.yaml:6:5) and again on channelId 1; "
        "this API keeps one communication per communicationType on a target"
    )
    one_each = MANIFEST.replace("START, channelId: 1", "CHANGE, channelId: 1")
    assert types_declared_twice(_documents(tmp_path, one_each)) == []


@pytest.mark.parametrize("contract", [Contract(), KEY, TYPE, Contract(inactiveRowsVisible=False)])
def test_no_contract_changes_what_a_converged_target_plans(contract: Contract) -> None:
    live = [have(1, "START"), have(2, "FINISH", EMAIL)]
    wanted = target(want("START"), want("FINISH", EMAIL))
    assert actions(plan_target(wanted, live, contract=contract)) == []
