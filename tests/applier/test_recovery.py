"""What recovery sends after an ambiguous write (SPEC §6): only what a re-read does not show,
never a create straight away, and one active row per declared key."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.api.wire import Attribution, Communication
from reconciler.applier.recovery import duplicate_deactivations, not_shown, remaining_writes
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.plan import Snapshot, TargetPlan
from reconciler.planner import plan_target


def live(
    id_: int, type_: str, channel: int, message: str, active: bool = True, minute: int = 0
) -> Communication:
    return Communication(
        id=id_, communicationType=type_, channelId=channel, sender="S", subjectTemplate="",
        messageTemplate=message, offsetDays=0, active=active,
        attribution=Attribution(lastUpdatedOn=datetime(2026, 1, 1, 0, minute, tzinfo=UTC)),
    )  # fmt: skip


def planned(rows: list[Communication], desired_messages: dict[tuple[str, int], str]) -> TargetPlan:
    desired = DesiredTarget(
        name="t",
        targetGroupId=1,
        targetId=2,
        prune=True,
        communications=tuple(
            DesiredCommunication(t, c, "S", "", m, 0, True)
            for (t, c), m in desired_messages.items()
        ),
        source=Source("m.yaml"),
    )
    return plan_target(desired, rows)


def test_recovery_sends_nothing_when_the_ambiguous_write_landed() -> None:
    target = planned([live(1, "START", 2, "old")], {("START", 2): "new", ("FINISH", 2): "bye"})
    after = [live(1, "START", 2, "new"), live(7, "FINISH", 2, "bye")]
    assert remaining_writes(target, after) == ([], [])


def test_recovery_never_resends_a_create_directly() -> None:
    """A create not visible yet is returned apart, to be confirmed after the settle delay."""
    target = planned([], {("FINISH", 2): "bye"})
    writes, creates = remaining_writes(target, [])
    assert writes == []
    assert [c.key.communicationType for c in creates] == ["FINISH"]


def test_recovery_fixes_a_landed_create_by_id_instead_of_inserting_again() -> None:
    target = planned([], {("FINISH", 2): "bye"})
    writes, creates = remaining_writes(target, [live(9, "FINISH", 2, "other")])
    assert creates == []
    assert [(w.id, w.messageTemplate) for w in writes] == [(9, "bye")]


def test_recovery_resends_only_updates_that_did_not_land() -> None:
    rows = [live(1, "START", 2, "old"), live(2, "FINISH", 2, "old")]
    target = planned(rows, {("START", 2): "new", ("FINISH", 2): "new"})
    after = [live(1, "START", 2, "new"), live(2, "FINISH", 2, "old")]
    writes, creates = remaining_writes(target, after)
    assert creates == []
    assert [(w.id, w.messageTemplate) for w in writes] == [(2, "new")]


def test_a_stored_text_the_server_normalised_counts_as_landed() -> None:
    target = planned([live(1, "START", 2, "old")], {("START", 2): "new  \n"})
    assert remaining_writes(target, [live(1, "START", 2, "new")]) == ([], [])


def test_duplicates_of_a_declared_key_are_deactivated_keeping_the_planners_match() -> None:
    """A create sent twice that landed twice: the newer row stays, the other is deactivated."""
    target = planned([], {("FINISH", 2): "bye", ("START", 2): "hi"})
    after = [
        live(7, "FINISH", 2, "bye", minute=2),
        live(8, "FINISH", 2, "bye", minute=1),
        live(9, "START", 2, "hi"),
        live(10, "CHANGE", 2, "undeclared"),
        live(11, "CHANGE", 2, "undeclared"),
    ]
    writes = duplicate_deactivations(target, after)
    assert [(w.id, w.communicationType, w.active, w.messageTemplate) for w in writes] == [
        (8, "FINISH", False, "bye")
    ]


def test_not_shown_names_the_expected_rows_a_reread_does_not_show_yet() -> None:
    new, gone = live(1, "START", 2, "new"), live(2, "FINISH", 2, "x", active=False)
    expected = {1: Snapshot.of(new), 2: Snapshot.of(gone), 3: Snapshot.of(live(3, "START", 1, "m"))}
    assert not_shown([live(1, "START", 2, "old")], expected) == "1, 3"
    assert not_shown([new, live(3, "START", 1, "m")], expected) == ""  # 2: inactive, unlisted
