"""The pure planner against SPEC §4: one test per rule, then hypothesis properties."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.api.wire import Communication
from reconciler.assumptions import COMMUNICATION_TYPES
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.plan import Change, TargetPlan
from reconciler.planner import (
    LiveRead,
    ReadFailure,
    assemble_plan,
    changed_fields,
    make_plan,
    plan_target,
)
from reconciler.sandbox.envelope import timestamp
from reconciler.sandbox.models import UpsertElement
from reconciler.sandbox.store import Store, open_store
from reconciler.sandbox.tables import UI_ACTOR, CommunicationSeed

NOW = datetime(2026, 3, 1, tzinfo=UTC)
BASE = {"sender": "S", "subjectTemplate": "", "messageTemplate": "m", "offsetDays": 0}


def want(typ: str = "START", channel: int = 1, **fields: Any) -> DesiredCommunication:
    values = {**BASE, "active": True, **fields}
    return DesiredCommunication(typ, channel, source=Source("m.yaml", 3, 5), **values)


def have(
    id: int, typ: str = "START", channel: int = 1, on: int = 0, **fields: Any
) -> Communication:
    values = {**BASE, "active": True, **fields}
    stamp = (NOW + timedelta(minutes=on)).isoformat() if on else None
    return Communication.model_validate(
        {
            "id": id,
            "communicationType": typ,
            "channelId": channel,
            "attribution": {"lastUpdatedOn": stamp, "lastUpdatedBy": {"name": "Ann", "code": "a"}},
            **values,
        }
    )


def target(
    *comms: DesiredCommunication, prune: bool = True, ref: tuple[int, int] = (1, 10)
) -> DesiredTarget:
    return DesiredTarget("t", ref[0], ref[1], prune, tuple(comms), Source("m.yaml", 1, 1))


def actions(plan: TargetPlan) -> list[tuple[str, str, int, int | None]]:
    return [(c.action, c.key.communicationType, c.key.channelId, c.id) for c in plan.changes]


def test_no_live_match_is_a_create_without_id() -> None:
    plan = plan_target(target(want()), [])
    assert actions(plan) == [("create", "START", 1, None)]
    (write,) = plan.writes()
    assert write.id is None
    assert write.to_body()["messageTemplate"] == "m"


def test_desired_inactive_without_live_match_creates_nothing() -> None:
    """SPEC §4: nothing is created just to be inactive."""
    plan = plan_target(target(want(active=False)), [])
    assert actions(plan) == [("noop", "START", 1, None)]
    assert plan.writes() == []


def test_differing_live_match_is_an_update_of_the_changed_fields() -> None:
    plan = plan_target(target(want(sender="T", offsetDays=2)), [have(7)])
    (change,) = plan.changes
    assert (change.action, change.id, change.fields) == ("update", 7, ("sender", "offsetDays"))
    assert plan.writes()[0].to_body() == {
        "id": 7, "active": True, "channelId": 1, "communicationType": "START",
        "messageTemplate": "m", "offsetDays": 2, "sender": "T", "subjectTemplate": "",
    }  # fmt: skip


def test_inactive_live_match_is_reactivated_by_an_update() -> None:
    (change,) = plan_target(target(want()), [have(7, active=False)]).changes
    assert (change.action, change.reason, change.fields) == ("update", "re-activation", ("active",))


def test_active_live_match_declared_inactive_is_deactivated_and_nothing_else() -> None:
    (change,) = plan_target(target(want(active=False, sender="X")), [have(7)]).changes
    assert (change.action, change.fields) == ("deactivate", ("active",))
    assert change.after is not None
    assert change.after.sender == "S"


def test_inactive_live_match_declared_inactive_is_left_alone() -> None:
    (change,) = plan_target(target(want(active=False, sender="X")), [have(7, active=False)]).changes
    assert (change.action, change.id) == ("noop", 7)


def test_server_owned_fields_are_never_diffed() -> None:
    live = have(7).model_copy(update={"targetId": 99, "targetGroupId": 98, "attribution": None})
    assert actions(plan_target(target(want()), [live])) == [("noop", "START", 1, 7)]


def test_prune_deactivates_active_undeclared_and_leaves_inactive_ones() -> None:
    live = [have(7), have(8, "FINISH"), have(9, "CHANGE", active=False)]
    plan = plan_target(target(want()), live)
    assert actions(plan) == [("noop", "START", 1, 7), ("deactivate", "FINISH", 1, 8)]
    assert plan.changes[1].reason == "not declared (prune)"


def test_without_prune_undeclared_communications_are_kept() -> None:
    plan = plan_target(target(want(), prune=False), [have(7), have(8, "FINISH")])
    assert actions(plan) == [("noop", "START", 1, 7)]


def test_live_duplicates_match_the_newest_active_and_prune_the_rest() -> None:
    live = [have(7, on=5), have(8, on=9), have(9, on=1, active=False)]
    plan = plan_target(target(want(sender="T")), live)
    assert actions(plan) == [("deactivate", "START", 1, 7), ("update", "START", 1, 8)]
    assert plan.changes[0].reason == "live duplicate"
    assert plan.warnings
    assert "ids 7, 8" in plan.warnings[0]


def test_live_duplicates_of_a_declared_key_are_deactivated_without_prune_too() -> None:
    """Issue 14 item 7 (SPEC §4): a declared key has exactly one active row, prune or not
    (this test pinned "left active (prune: false)" before; the SPEC now says otherwise)."""
    live = [have(7, on=1), have(8, on=1), have(9, "FINISH"), have(10, "FINISH")]
    plan = plan_target(target(want(), prune=False), live)
    # a tie goes to the higher id; the undeclared FINISH duplicates stay (prune: false)
    assert actions(plan) == [("deactivate", "START", 1, 7), ("noop", "START", 1, 8)]
    assert plan.changes[0].reason == "live duplicate"
    assert (
        "id 8 is the most recently updated, the others are planned for deactivation"
        in (plan.warnings[0])
    )
    assert "which no manifest declares; kept (prune: false)" in plan.warnings[1]


def test_unmanaged_rows_are_listed_and_never_pruned() -> None:
    """Issue 14 item 8 (SPEC §4): a type or channel no manifest could declare is not managed."""
    live = [have(7), have(8, "BIRTHDAY"), have(9, "FINISH", 5), have(10, "FINISH")]
    plan = plan_target(target(want()), live, channels={1: "SMS", 2: "EMAIL"})
    assert actions(plan) == [("noop", "START", 1, 7), ("deactivate", "FINISH", 1, 10)]
    assert plan.warnings == (
        "not managed: unknown type BIRTHDAY on SMS (channelId 1) (id 8); left as it is",
        "not managed: unknown channel id 5 for FINISH, not in the channel list (id 9); "
        "left as it is",
    )
    assert plan.activeLive == 2  # the safety threshold counts managed communications only
    # without a channel list (not read), every channel counts as declarable
    assert ("deactivate", "FINISH", 5, 9) in actions(plan_target(target(want()), live))


@pytest.mark.parametrize(
    ("wanted", "stored", "how"),
    [
        ("Hello  \n", "Hello", "trailing whitespace removed"),
        ("a\r\nb", "a\nb", "CRLF line endings converted to LF"),
        ("a  \nb", "a\nb", "trailing whitespace removed from each line"),
    ],
)
def test_a_live_text_that_is_the_manifests_after_normalisation_is_no_change(
    wanted: str, stored: str, how: str
) -> None:
    """Issue 14 item 5: resending would be normalised again; a warning says why it is no change."""
    plan = plan_target(target(want(messageTemplate=wanted)), [have(7, messageTemplate=stored)])
    assert actions(plan) == [("noop", "START", 1, 7)]
    (warning,) = plan.warnings
    assert f"the live messageTemplate is the manifest's with {how}" in warning
    # with another, real change, the update keeps the live text rather than resending it
    plan = plan_target(
        target(want(messageTemplate=wanted, sender="T")), [have(7, messageTemplate=stored)]
    )
    (change,) = plan.changes
    assert (change.action, change.fields) == ("update", ("sender",))
    assert change.after is not None
    assert change.after.messageTemplate == stored
    # the other direction is a real difference: this server did not normalise
    plan = plan_target(target(want(messageTemplate=stored)), [have(7, messageTemplate=wanted)])
    assert actions(plan) == [("update", "START", 1, 7)]


def test_duplicates_of_a_key_declared_inactive_are_all_deactivated() -> None:
    plan = plan_target(target(want(active=False), prune=False), [have(7, on=1), have(8, on=2)])
    assert [c.action for c in plan.changes] == ["deactivate", "deactivate"]


def test_channel_move_is_a_create_and_a_deactivate_side_by_side() -> None:
    """SPEC §4: moving a message to another channel shows as adjacent create and deactivate."""
    desired = target(want("START", 3), want("FINISH", 1), want("CHANGE", 1), want("CHANGE", 2))
    live = [have(1, "START", 1), have(2, "FINISH", 1), have(3, "CHANGE", 1), have(4, "CHANGE", 2)]
    plan = plan_target(desired, live)
    moved = [c for c in plan.changes if c.action != "noop"]
    assert [(c.action, c.key.channelId) for c in moved] == [("deactivate", 1), ("create", 3)]
    index = plan.changes.index(moved[0])
    assert plan.changes[index + 1] == moved[1]
    assert moved[1].reason == "channel move from START on channelId 1"


def test_changes_are_in_type_order_then_action_then_channel() -> None:
    desired = target(
        *(want(t, c, sender="new") for t in reversed(COMMUNICATION_TYPES) for c in (2, 1))
    )
    live = [
        have(i, t, c)
        for i, (t, c) in enumerate([(t, c) for t in COMMUNICATION_TYPES for c in (1, 2)], 1)
    ]
    random.Random(4).shuffle(live)
    keys = [(c.key.communicationType, c.key.channelId) for c in plan_target(desired, live).changes]
    assert keys == [(t, c) for t in COMMUNICATION_TYPES for c in (1, 2)]


def test_a_key_given_twice_is_refused_as_a_broken_precondition() -> None:
    """The manifest rule is worded by reading/resolving; the planner only refuses to guess."""
    with pytest.raises(ValueError, match="precondition"):
        plan_target(target(want(), want()), [])


def test_unreadable_target_gets_no_changes_at_all() -> None:
    """SPEC §4: a failed read is never "nothing there"."""
    only = plan_target(target(want()), ReadFailure("503"))
    assert (only.readable, only.error, only.changes, only.fingerprint) == (False, "503", (), None)
    assert make_plan([target(want())], {(1, 10): ReadFailure("503")}, "e", NOW).targets == (only,)


def test_a_plan_is_assembled_once_from_its_target_plans_in_target_order() -> None:
    """The pipeline plans each target as its read arrives, in any order, then assembles."""
    later, earlier = (plan_target(target(want(), ref=ref), []) for ref in [(2, 1), (1, 10)])
    moment = datetime(2026, 3, 1, 13, 30, 15, 999, tzinfo=timezone(timedelta(hours=1)))
    plan = assemble_plan([later, earlier], "e", moment, channels={1: "SMS"}, warnings=["w"])
    assert [t.ref for t in plan.targets] == [(1, 10), (2, 1)]
    assert (plan.generatedAt, plan.channels, plan.warnings) == (
        "2026-03-01T12:30:15Z",
        {1: "SMS"},
        ("w",),
    )
    assert plan == make_plan(
        [target(want(), ref=(2, 1)), target(want())], {(2, 1): [], (1, 10): []}, "e", moment,
        channels={1: "SMS"}, warnings=["w"],
    )  # fmt: skip


def test_a_target_missing_from_the_live_reads_is_unreadable() -> None:
    plan = make_plan([target(want())], {}, "e", NOW)
    assert plan.unreadable
    assert not plan.has_changes


def test_a_target_given_twice_is_refused_as_a_broken_precondition() -> None:
    with pytest.raises(ValueError, match="precondition"):
        make_plan([target(want()), target(want("FINISH"))], {(1, 10): []}, "e", NOW)


def test_changed_fields_reports_type_changes_too() -> None:
    from reconciler.plan import Snapshot

    one = Snapshot.of(have(1))
    assert changed_fields(one, one) == ()
    assert changed_fields(one, one.model_copy(update={"offsetDays": True})) == ("offsetDays",)


# --- properties -------------------------------------------------------------------------

# Few keys, so that live duplicates, moves and re-activations are common in generated cases.
TYPES = st.sampled_from(COMMUNICATION_TYPES[:2])
CHANNELS = st.integers(1, 2)
# "line 1\nline 2\n" and "line 1\nline 2" differ by a normalisation (issue 14 item 5).
TEXT = st.sampled_from(["", "a", "b", "line 1\nline 2\n", "line 1\nline 2", "line 1\nline 3"])


@st.composite
def desired_targets(draw: st.DrawFn, ref: tuple[int, int] = (1, 10)) -> DesiredTarget:
    keys = draw(st.lists(st.tuples(TYPES, CHANNELS), unique=True, max_size=4))
    comms = [
        want(
            t,
            c,
            sender=draw(st.sampled_from(["S", "T"])),
            subjectTemplate=draw(TEXT),
            messageTemplate=draw(TEXT),
            offsetDays=draw(st.integers(0, 2)),
            active=draw(st.booleans()),
        )
        for t, c in keys
    ]
    return target(*comms, prune=draw(st.booleans()), ref=ref)


@st.composite
def live_states(draw: st.DrawFn) -> list[Communication]:
    size = draw(st.integers(0, 8))
    ids = draw(st.lists(st.integers(1, 60), unique=True, min_size=size, max_size=size))
    return [
        have(
            i,
            draw(TYPES),
            draw(CHANNELS),
            on=draw(st.integers(0, 3)),
            sender=draw(st.sampled_from(["S", "T"])),
            subjectTemplate=draw(TEXT),
            messageTemplate=draw(TEXT),
            offsetDays=draw(st.integers(0, 2)),
            active=draw(st.booleans()),
        )
        for i in ids
    ]


def writes_of(plan: TargetPlan) -> list[Change]:
    return [c for c in plan.changes if c.action != "noop"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One sandbox database for the module; each example starts it afresh (``seeded``)."""
    store = open_store(tmp_path_factory.mktemp("planner") / "sandbox.db")
    yield store
    store.close()


def seeded(store: Store, live: Sequence[Communication]) -> list[Communication]:
    """``live`` stored as target 1/10 of an emptied sandbox, as a read of it shows them."""
    store.recreate()
    store.add_channel(1, "SMS")
    store.add_channel(2, "EMAIL")
    store.add_group(1, "g")
    store.add_target(1, 10, "t")
    store.add_communications(
        CommunicationSeed(
            1, 10, c.communicationType, c.channelId, c.messageTemplate, c.sender,
            c.subjectTemplate, c.offsetDays, c.active, id=c.id, last_updated_on=_stamp(c),
        )
        for c in live
    )  # fmt: skip
    return read(store)


def _stamp(comm: Communication) -> str | None:
    when = comm.attribution.lastUpdatedOn if comm.attribution else None
    return timestamp(when) if when else None  # without one, the sandbox shows the creation


def read(store: Store) -> list[Communication]:
    return [Communication.model_validate(row) for row in store.communications(1, 10)]


@settings(max_examples=300, deadline=None)
@given(desired=desired_targets(), live=live_states(), later=st.booleans())
def test_applying_the_planned_writes_leaves_nothing_to_plan(
    store: Store, desired: DesiredTarget, live: list[Communication], later: bool
) -> None:
    """Issue 5, acceptance 3: plan, write the upsert to the sandbox, read, plan again: no
    changes. The written rows are stamped after or before the others (``later``)."""
    before = seeded(store, live)
    first = plan_target(desired, before)
    if first.writes():
        body = [UpsertElement.model_validate(w.to_body()) for w in first.writes()]
        store.upsert(1, 10, body, UI_ACTOR, at=NOW + timedelta(days=1 if later else -90))
    after = read(store)
    second = plan_target(desired, after)
    assert writes_of(second) == [], second.changes
    # and nothing the manifests do not explain stays active under prune
    active = [(c.communicationType, c.channelId) for c in after if c.active]
    declared = {c.key for c in desired.communications if c.active}
    if desired.prune:
        assert sorted(active) == sorted(declared)
    # issue 14 item 7: prune or not, a declared key has exactly one active row
    for key in declared:
        assert active.count(key) == 1, (key, after)


@settings(max_examples=200, deadline=None)
@given(desired=desired_targets(), seed=st.integers(0, 2**16))
def test_identical_desired_and_live_states_plan_nothing(desired: DesiredTarget, seed: int) -> None:
    live = [
        have(i, c.communicationType, c.channelId, **{k: getattr(c, k) for k in (*BASE, "active")})
        for i, c in enumerate(desired.communications, 1)
        if c.active or seed % 2
    ]
    random.Random(seed).shuffle(live)
    assert writes_of(plan_target(desired, live)) == []


@settings(max_examples=100, deadline=None)
@given(
    refs=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 40)), unique=True, max_size=6),
    extra=st.lists(st.tuples(st.integers(1, 4), st.integers(41, 80)), unique=True, max_size=4),
    data=st.data(),
)
def test_a_plan_covers_exactly_the_selected_targets(
    refs: list[tuple[int, int]], extra: list[tuple[int, int]], data: st.DataObject
) -> None:
    """SPEC §4 ownership: live state of unselected targets never enters the plan."""
    desired = [data.draw(desired_targets(ref)) for ref in refs]
    lives: dict[tuple[int, int], LiveRead] = {
        ref: data.draw(live_states()) for ref in [*refs, *extra]
    }
    plan = make_plan(desired, lives, "e", NOW)
    assert [t.ref for t in plan.targets] == sorted(refs)


@settings(max_examples=100, deadline=None)
@given(desired=desired_targets(), live=live_states(), seed=st.integers(0, 2**16))
def test_plans_do_not_depend_on_live_order(
    desired: DesiredTarget, live: list[Communication], seed: int
) -> None:
    """SPEC §4: same manifests and same live state give byte-identical JSON."""
    shuffled = list(live)
    random.Random(seed).shuffle(shuffled)
    one = make_plan([desired], {desired.ref: live}, "e", NOW)
    two = make_plan([desired], {desired.ref: shuffled}, "e", NOW)
    assert one.to_json() == two.to_json()


# --- the lean path for unchanged targets (issue 9) ----------------------------------------


def test_a_noop_holds_one_snapshot_as_before_and_after() -> None:
    unchanged = plan_target(target(want()), [have(7, on=1)]).changes[0]
    inactive = plan_target(target(want(active=False)), [have(7, active=False)]).changes[0]
    for change in (unchanged, inactive):
        assert change.action == "noop"
        assert change.before is change.after
        assert change.before is not None
        assert change.before.sender == "S"


def test_a_noop_is_what_validation_would_build() -> None:
    """The planner builds noops without validation; validating the same values changes nothing."""
    plan = plan_target(target(want(), want("FINISH", active=False)), [have(7, on=1)])
    assert [c.action for c in plan.changes] == ["noop", "noop"]
    for change in plan.changes:
        assert Change.model_validate(change.model_dump()) == change


def test_keys_and_authors_are_shared_between_targets() -> None:
    one = plan_target(target(want(), ref=(1, 10)), [have(7, on=1)]).changes[0]
    two = plan_target(target(want(), ref=(1, 11)), [have(8, on=2)]).changes[0]
    assert one.key is two.key
    assert one.lastUpdatedBy is two.lastUpdatedBy
    assert one.lastUpdatedOn != two.lastUpdatedOn


@pytest.mark.parametrize(
    ("wanted", "action"),
    [
        (want(offsetDays=True), "update"),  # True is not 1 (SPEC §4 compares types too)
        (want(offsetDays="0"), "noop"),  # a value validation turns into the live one
        (want(active=False), "deactivate"),
        (want(), "noop"),
    ],
)
def test_only_an_exact_match_takes_the_lean_path(wanted: DesiredCommunication, action: str) -> None:
    (change,) = plan_target(target(wanted), [have(7, offsetDays=0)]).changes
    assert change.action == action
    assert Change.model_validate(change.model_dump()) == change


@settings(max_examples=200, deadline=None)
@given(desired=desired_targets(), live=live_states())
def test_every_planned_change_passes_validation(
    desired: DesiredTarget, live: list[Communication]
) -> None:
    """Changes built without validation are ones validation accepts, and equal to its result."""
    for change in plan_target(desired, live).changes:
        assert Change.model_validate(change.model_dump()) == change
        if change.action == "noop":
            assert change.before is change.after


def test_a_planned_target_equals_its_validated_model_and_dumps_the_same() -> None:
    """Issue 21: plan_target builds a readable target's plan without validation; it is the
    model validation would give, byte for byte in JSON, and a wrongly typed one is validated."""
    planned = plan_target(target(want(), want("CHANGE", 2)), [have(5), have(6, "CHANGE", 2)])
    validated = TargetPlan.model_validate(planned.model_dump())

    assert planned == validated
    assert planned.model_dump_json() == validated.model_dump_json()
    assert [c.action for c in planned.changes] == ["noop", "noop"]
    odd = DesiredTarget("t", 1, 10, True, (want(),), Source("m.yaml", 1, 1), targetName=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="targetName"):
        plan_target(odd, [have(5)])
