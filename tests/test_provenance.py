"""Three-way origin labels (issue 18, acceptance 2): every (base, head, live) equality pattern of
one field, and the labels a planned target's changes get."""

from __future__ import annotations

import itertools

import pytest

from reconciler.api.wire import Communication
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.planner import plan_target
from reconciler.provenance import field_origin, label_target

# (base == head, head == live, base == live) -> the label; None: the three agree.
TABLE = {
    (True, True, True): None,  # nothing to do
    (True, False, False): "live-edit",  # the head leaves it; live moved: applying overwrites it
    (False, False, True): "change",  # live is the base's; the head changes it
    (False, True, False): "already-live",  # the head's value is live already: no write
    (False, False, False): "conflict",  # the head changes it, and live moved elsewhere
}


def values(base_head: bool, head_live: bool, base_live: bool) -> tuple[str, str, str] | None:
    """Three values with exactly these equalities, or None when no three values have them."""
    base = "a"
    head = base if base_head else "b"
    if head_live:
        live = head
    elif base_live:
        live = base
    else:
        live = "c" if head != "c" and base != "c" else "d"
    found = (base == head, head == live, base == live)
    return (base, head, live) if found == (base_head, head_live, base_live) else None


@pytest.mark.parametrize("pattern", list(itertools.product((True, False), repeat=3)))
def test_every_equality_pattern_of_one_field_gets_its_label(
    pattern: tuple[bool, bool, bool],
) -> None:
    triple = values(*pattern)
    if pattern not in TABLE:
        # Two equalities imply the third: these three patterns cannot occur.
        assert triple is None
        assert sum(pattern) == 2
        return
    assert triple is not None
    assert field_origin(*triple) == TABLE[pattern]


@pytest.mark.parametrize(
    ("base", "head", "live", "label"),
    [
        ("Hi \n", "Bye\n", "Hi", "change"),  # live is the base as the server stored it
        ("Hi", "Hi \r\n", "Hi", "already-live"),
        ("Hi \n", "Hi \n", "Hi", None),
        ("Hi", "Bye", "Ho", "conflict"),
    ],
)
def test_a_live_text_the_server_normalised_equals_the_desired_one(
    base: str, head: str, live: str, label: str | None
) -> None:
    assert field_origin(base, head, live, text=True) == label


def test_only_text_fields_compare_normalised() -> None:
    assert field_origin("Hi \n", "Bye\n", "Hi") == "conflict"


def test_values_of_another_type_are_not_equal() -> None:
    assert field_origin(True, True, 1) == "live-edit"
    assert field_origin(0, 3, 3) == "already-live"


def _desired(
    subject: str, message: str = "Hi", *, prune: bool = True, active: bool = True
) -> DesiredTarget:
    entry = DesiredCommunication("START", 2, "a@x.example", subject, message, 0, active, Source(""))
    return DesiredTarget("t", 1, 2, prune, (entry,), Source("m.yaml"))


def _live(
    subject: str, message: str = "Hi", *, key: tuple[str, int] = ("START", 2)
) -> list[Communication]:
    return [
        Communication.model_validate(
            {
                "id": 9,
                "communicationType": key[0],
                "channelId": key[1],
                "sender": "a@x.example",
                "subjectTemplate": subject,
                "messageTemplate": message,
                "offsetDays": 0,
                "active": True,
            }
        )
    ]


def test_a_target_gets_one_label_per_written_field_and_the_already_live_ones() -> None:
    base = _desired("old", "Hi")
    head = _desired("new", "Hello")
    live = _live("edited", "Hello")  # subject: conflict; message: already live
    labelled = label_target(plan_target(head, live), head, base)
    (change,) = labelled.changes
    assert change.action == "update"
    assert change.origin == {"subjectTemplate": "conflict", "messageTemplate": "already-live"}


def test_a_target_new_since_the_base_is_all_this_change() -> None:
    head = _desired("new")
    labelled = label_target(plan_target(head, _live("old")), head, None)
    assert labelled.changes[0].origin == {"subjectTemplate": "change"}


def test_a_live_row_nobody_declared_is_a_live_edit_that_prune_deactivates() -> None:
    head = _desired("same")
    live = [*_live("same"), *_live("x", key=("FINISH", 2))]
    live[1] = live[1].model_copy(update={"id": 10})
    labelled = label_target(plan_target(head, live), head, _desired("same"))
    (deactivate,) = [c for c in labelled.changes if c.action == "deactivate"]
    assert deactivate.origin == {"active": "live-edit"}


def test_a_key_the_pull_request_removes_is_its_change() -> None:
    base_entries = (
        *_desired("same").communications,
        DesiredCommunication("FINISH", 2, "a@x.example", "x", "Hi", 0, True, Source("")),
    )
    base = DesiredTarget("t", 1, 2, True, base_entries, Source("m.yaml"))
    head = _desired("same")
    live = [*_live("same"), _live("x", key=("FINISH", 2))[0].model_copy(update={"id": 10})]
    labelled = label_target(plan_target(head, live), head, base)
    (deactivate,) = [c for c in labelled.changes if c.action == "deactivate"]
    assert deactivate.origin == {"active": "change"}


def test_a_create_of_a_key_the_base_already_declared_is_a_live_edit() -> None:
    head = _desired("s")
    labelled = label_target(plan_target(head, []), head, _desired("s"))
    (create,) = labelled.changes
    assert create.action == "create"
    assert set((create.origin or {}).values()) == {"live-edit"}
    fresh = label_target(plan_target(head, []), head, _desired("s", prune=True, active=False))
    assert (fresh.changes[0].origin or {})["subjectTemplate"] == "live-edit"
    assert (fresh.changes[0].origin or {})["active"] == "change"
