"""The plan model: SPEC §5's JSON document, saved-plan loading, §6 safety check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.api.wire import Communication
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.errors import PlanError, ReconcilerError
from reconciler.plan import (
    Plan,
    PlanFileError,
    Snapshot,
    check_safety,
)
from reconciler.planner import make_plan

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BASE: dict[str, Any] = {
    "sender": "S",
    "subjectTemplate": "",
    "messageTemplate": "m",
    "offsetDays": 0,
}


def comm(id: int, typ: str = "START", channel: int = 1, **fields: Any) -> Communication:
    values = {**BASE, "active": True, **fields}
    return Communication(id=id, communicationType=typ, channelId=channel, **values)


def desired(ref: tuple[int, int], *keys: tuple[str, int], prune: bool = True) -> DesiredTarget:
    comms = tuple(
        DesiredCommunication(t, c, active=True, source=Source("m.yaml", 4, 5), **BASE)
        for t, c in keys
    )
    return DesiredTarget(f"t{ref[1]}", ref[0], ref[1], prune, comms, Source("m.yaml", 1, 1))


def sample_plan(generated: datetime = NOW) -> Plan:
    targets = [desired((1, 10), ("START", 1), ("FINISH", 2)), desired((1, 11), ("START", 1))]
    live = {
        (1, 10): [comm(5, sender="old"), comm(6, "CHANGE", 1), comm(7, "CHANGE", 1)],
        (1, 11): [comm(8)],
    }
    return make_plan(targets, live, "prod-eu", generated, channels={1: "SMS", 2: "EMAIL"})


def test_json_document_has_the_spec_shape() -> None:
    """SPEC §5: formatVersion, generatedAt, environment, summary, targets, warnings."""
    doc = json.loads(sample_plan().to_json())
    assert doc["formatVersion"] == 1
    assert doc["generatedAt"] == "2026-03-01T12:00:00Z"
    assert doc["environment"] == "prod-eu"
    assert doc["summary"] == {"create": 1, "update": 1, "deactivate": 2, "noop": 1}
    first = doc["targets"][0]
    assert {"targetGroupId", "targetId", "manifest", "fingerprint", "changes"} <= set(first)
    assert first["changes"][0].keys() >= {"action", "key", "id", "before", "after", "fields"}
    assert first["changes"][0]["key"] == {"communicationType": "START", "channelId": 1}
    assert doc["warnings"] == [
        "t10 (1/10): 2 active live communications share key CHANGE on SMS (channelId 1) "
        "(ids 6, 7), which no manifest declares; all are planned for deactivation"
    ]


def test_json_is_canonical_and_byte_stable() -> None:
    """Sorted keys, two-space indent, UTF-8 as is, one trailing newline; same input, same bytes."""
    text = sample_plan().to_json()
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    later = sample_plan(NOW + timedelta(hours=5)).to_json()
    assert later.replace("T17:00:00Z", "T12:00:00Z") == text


def test_saved_plan_round_trips_exactly() -> None:
    plan = sample_plan().model_copy(update={"warnings": ("shard 1/3 selected 2 targets",)})
    loaded = Plan.from_json(plan.to_json())
    assert loaded == plan
    assert loaded.to_json() == plan.to_json()
    assert Plan.from_json(plan.to_json().encode()) == plan


def test_writes_follow_spec_6() -> None:
    """Creates without id; updates and deactivations with id and the full object."""
    target = sample_plan().targets[0]
    bodies = [w.to_body() for w in target.writes()]
    assert [(b.get("id"), b["communicationType"], b["active"]) for b in bodies] == [
        (5, "START", True),
        (None, "FINISH", True),
        (6, "CHANGE", False),
        (7, "CHANGE", False),
    ]
    assert all(
        set(b) - {"id"} == set(BASE) | {"active", "channelId", "communicationType"} for b in bodies
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"environment": "x"}', "formatVersion null"),
        ('{"formatVersion": 2}', "formatVersion 2; this reconciler reads formatVersion 1"),
        ('{"formatVersion": true}', "formatVersion true"),
    ],
)
def test_unreadable_saved_plans_are_refused(text: str, message: str) -> None:
    with pytest.raises(PlanFileError, match=message):
        Plan.from_json(text)


def edited(mutate: Any) -> str:
    doc = json.loads(sample_plan().to_json())
    mutate(doc)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["targets"][0]["changes"][0].update(action="delete"), "action"),
        (lambda d: d["targets"][0]["changes"][1].update(id=99), "a create has no id"),
        (lambda d: d["targets"][0]["changes"][0]["key"].update(channelId="1"), "channelId"),
        (lambda d: d["targets"][0]["changes"][2]["after"].update(active=True), "a deactivate"),
        (lambda d: d["targets"][0]["changes"][0].update(fields=["attribution"]), "fields"),
        (lambda d: d["targets"][0].update(readable=False), "cannot carry changes"),
        (lambda d: d["targets"].append(d["targets"][0]), "more than once"),
        (lambda d: d["targets"][0].update(surprise=1), "surprise"),
        (lambda d: d["summary"].update(create=0), "summary"),
        (lambda d: d.pop("summary"), "summary"),
    ],
)
def test_tampered_saved_plans_are_refused(mutate: Any, message: str) -> None:
    with pytest.raises(PlanFileError, match=message) as info:
        Plan.from_json(edited(mutate))
    assert isinstance(info.value, ReconcilerError)
    assert "\n" not in info.value.message


def safety_plan(active: int, deactivated: int) -> Plan:
    target = desired((1, 10), *(("START", c) for c in range(1, active - deactivated + 1)))
    live = [comm(c, "START", c) for c in range(1, active + 1)]
    return make_plan([target], {(1, 10): live}, "e", NOW)


@pytest.mark.parametrize(
    ("active", "deactivated", "refused"),
    [
        (10, 3, True),  # 30% > 25% and 3 > 2
        (12, 3, False),  # exactly 25% is allowed
        (4, 2, False),  # 50%, but only 2
        (3, 3, True),
        (100, 20, False),
        (0, 0, False),
    ],
)
def test_safety_threshold(active: int, deactivated: int, refused: bool) -> None:
    """SPEC §6: refuse when deactivations exceed the percentage AND number more than 2."""
    plan = safety_plan(active, deactivated)
    assert plan.summary.deactivate == deactivated
    assert plan.active_live == active
    message = check_safety(plan, 25)
    assert (message is not None) == refused
    if message:
        assert f"deactivate {deactivated} of {active}" in message
        assert "--force" in message


def test_deactivating_live_duplicates_of_a_declared_key_does_not_count_for_safety() -> None:
    """Issue 14 item 7: duplicates of a declared key are always deactivated, prune or not; the
    key's message stays live, so the threshold neither counts them nor refuses for them."""
    target = desired((1, 10), ("START", 1))
    live = [comm(c, "START", 1) for c in range(1, 6)]  # five active copies of one key
    plan = make_plan([target], {(1, 10): live}, "e", NOW)
    assert plan.summary.deactivate == 4
    assert check_safety(plan, 25) is None
    # a real deactivation beside them is still weighed against the managed ones
    live += [comm(c, "FINISH", c) for c in range(6, 9)]
    plan = make_plan([target], {(1, 10): live}, "e", NOW)
    message = check_safety(plan, 25)
    assert message is not None
    assert "deactivate 3 of 4 active" in message


def test_safety_threshold_is_configurable() -> None:
    assert check_safety(safety_plan(10, 3), 30) is None
    assert check_safety(safety_plan(10, 3), 29.9) is not None


def test_a_noop_only_plan_has_no_changes_and_empty_writes() -> None:
    plan = make_plan([desired((1, 10), ("START", 1))], {(1, 10): [comm(1)]}, "e", NOW)
    assert not plan.has_changes
    assert plan.summary.noop == 1
    assert plan.targets[0].writes() == []
    with pytest.raises(PlanError):
        plan.targets[0].changes[0].write()


# --- models built without validation (issue 9) --------------------------------------------


def test_snapshots_of_exact_values_share_one_field_set_that_copies_do_not_change() -> None:
    one, two = Snapshot.of(comm(1)), Snapshot.of(comm(2, "FINISH"))
    assert one.model_fields_set is two.model_fields_set
    shared = set(one.model_fields_set)
    off = one.model_copy(update={"active": False})
    assert off.active is False
    assert one.active is True
    assert one.model_fields_set == shared == set(Snapshot.model_fields)
    assert one == Snapshot.model_validate(one.model_dump())


@pytest.mark.parametrize(("value", "expected"), [(True, 1), ("3", 3), (2, 2)])
def test_snapshots_of_other_types_are_still_validated(value: object, expected: int) -> None:
    wanted = DesiredCommunication("START", 1, "S", "", "m", value, True)  # type: ignore[arg-type]
    snapshot = Snapshot.of(wanted)
    assert snapshot.offsetDays == expected
    assert type(snapshot.offsetDays) is int
    with pytest.raises(ValidationError):
        Snapshot.of(DesiredCommunication("START", 1, None, "", "m", 0, True))  # type: ignore[arg-type]


def test_a_saved_noop_whose_before_and_after_differ_is_still_refused() -> None:
    plan = make_plan([desired((1, 10), ("START", 1))], {(1, 10): [comm(1)]}, "e", NOW)
    doc = json.loads(plan.to_json())
    doc["targets"][0]["changes"][0]["after"]["sender"] = "other"
    with pytest.raises(PlanFileError, match="a noop changes nothing"):
        Plan.from_json(json.dumps(doc))


def test_a_plan_with_a_git_base_round_trips_and_a_plan_without_one_has_none_of_its_keys() -> None:
    from tests.support.render import labelled_plan

    plan = labelled_plan()
    text = plan.to_json()
    document = json.loads(text)
    assert document["base"]["ref"] == "main"
    assert document["released"][0]["activeLive"] == 3
    (change,) = document["targets"][0]["changes"]
    assert change["origin"] == {
        "sender": "conflict",
        "subjectTemplate": "change",
        "messageTemplate": "live-edit",
        "offsetDays": "already-live",
    }
    assert Plan.from_json(text) == plan
    assert [name for _, _, name in plan.origins("conflict")] == ["sender"]
    bare = json.loads(plan.model_copy(update={"base": None, "released": ()}).to_json())
    assert "base" not in bare
    assert "released" not in bare
    plain = make_plan([], {}, "prod", datetime(2026, 1, 1, tzinfo=UTC)).to_json()
    assert "origin" not in plain


def _ignoring(fields: tuple[str, ...]) -> DesiredTarget:
    wanted = DesiredCommunication(
        "START",
        1,
        active=True,
        ignore=fields,
        **{**BASE, "sender": "new", "messageTemplate": "git"},
    )
    return DesiredTarget("t", 1, 10, True, (wanted,), Source("m.yaml", 1, 1))


def test_ignored_fields_are_written_with_their_value_live_at_write_time() -> None:
    """A saved plan's write of another field sends the ignored field's current live value,
    never the one read at planning (issue 19)."""
    planned = make_plan([_ignoring(("messageTemplate",))], {(1, 10): [comm(5)]}, "p", NOW)
    (target,) = planned.targets
    (change,) = target.changes
    assert change.action == "update"
    assert change.fields == ("sender",)
    assert target.matches([comm(5, messageTemplate="edited since")])
    assert not target.matches([comm(5, sender="edited since")])
    (write,) = target.writes([comm(5, messageTemplate="edited since")])
    assert (write.sender, write.messageTemplate) == ("new", "edited since")
    assert Plan.from_json(planned.to_json()) == planned


def test_a_duplicate_of_a_key_whose_active_is_ignored_is_still_deactivated() -> None:
    live = [comm(5), comm(6)]  # no attribution: the higher id is the match
    planned = make_plan([_ignoring(("active", "sender"))], {(1, 10): live}, "p", NOW)
    (target,) = planned.targets
    (deactivate,) = [c for c in target.changes if c.action == "deactivate"]
    (write,) = [w for w in target.writes(live) if w.id == deactivate.id]
    assert write.active is False
