"""A planned Change is one the planner could have built (SPEC §4); the one key change allowed is a
channel move done in place, an update that names ``channelId`` among its fields (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.plan import Change as PlanChange
from reconciler.snapshot import Change, Key, Snapshot

SMS, EMAIL = 1, 2


def snap(channel: int = SMS, kind: str = "START", **fields: Any) -> Snapshot:
    values: dict[str, Any] = {
        "sender": "S",
        "subjectTemplate": "",
        "messageTemplate": "m",
        "offsetDays": 0,
    }
    values |= {"active": True, **fields}
    return Snapshot(communicationType=kind, channelId=channel, **values)


def change(**fields: Any) -> Change:
    base: dict[str, Any] = {
        "action": "update",
        "key": Key(communicationType="START", channelId=EMAIL),
        "id": 7,
        "before": snap(SMS),
        "after": snap(EMAIL),
        "fields": ("channelId",),
    }
    return Change(**{**base, **fields})


def test_plan_re_exports_the_change_model() -> None:
    assert PlanChange is Change


def test_an_in_place_channel_move_is_an_update_naming_channel_id() -> None:
    moved = change()
    assert moved.write().channelId == EMAIL
    assert moved.write().id == 7
    with_text = change(
        after=snap(EMAIL, messageTemplate="n"), fields=("channelId", "messageTemplate")
    )
    assert with_text.fields == ("channelId", "messageTemplate")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {"fields": ("messageTemplate",), "after": snap(EMAIL, messageTemplate="n")},
            "another key",
        ),
        (
            {
                "action": "deactivate",
                "after": snap(EMAIL, active=False),
                "fields": ("channelId", "active"),
            },
            "another key",
        ),
        ({"before": snap(SMS, kind="FINISH")}, "another key"),
        (
            {
                "before": snap(EMAIL),
                "fields": ("channelId", "sender"),
                "after": snap(EMAIL, sender="T"),
            },
            "exactly when",
        ),
        ({"after": snap(SMS)}, "another key"),
    ],
)
def test_a_change_no_planner_could_build_is_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        change(**fields)


def test_trusted_instances_are_compact_and_equal_to_validated_ones() -> None:
    """Issue 21: ``trusted`` sets every field (defaults included) in a key-sharing dict, smaller
    than a validated instance's, with the same values, dump and JSON."""
    import tracemalloc

    after = snap()
    values: dict[str, Any] = {"action": "noop", "key": after.key, "id": 7}
    values |= {"before": after, "after": after, "source": "m.yaml:3:5"}
    trusted, validated = Change.trusted(**values), Change(**values)

    assert trusted == validated
    assert trusted.model_dump() == validated.model_dump()
    assert trusted.model_dump_json() == validated.model_dump_json()
    assert list(trusted.__dict__) == list(Change.model_fields)
    tracemalloc.start()
    try:
        kept = [Change.trusted(**values) for _ in range(300)]
        mine = tracemalloc.get_traced_memory()[0]
        kept += [Change.model_construct(**values) for _ in range(300)]
        theirs = tracemalloc.get_traced_memory()[0] - mine
    finally:
        tracemalloc.stop()
    assert len(kept) == 600
    assert mine < 0.6 * theirs, (mine, theirs)
    with pytest.raises(TypeError, match="unknown fields"):
        Change.trusted(**values, colour="red")
