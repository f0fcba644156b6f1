"""The pure half of the post-write check (SPEC §6; issue 14 items 4 and 5): an upsert answer
matched by id and key, and what proves an inconsistency."""

from __future__ import annotations

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.applier.verify import check_answer


def live(id_: int, type_: str, channel: int, message: str) -> Communication:
    return Communication(
        id=id_, communicationType=type_, channelId=channel, sender="S", subjectTemplate="",
        messageTemplate=message, offsetDays=0, active=True,
    )  # fmt: skip


def write(type_: str, channel: int, message: str, id_: int | None = None) -> CommunicationWrite:
    return CommunicationWrite(
        id=id_, active=True, channelId=channel, communicationType=type_,
        messageTemplate=message, offsetDays=0, sender="S", subjectTemplate="",
    )  # fmt: skip


SENT = [write("START", 2, "new", 1), write("FINISH", 2, "bye")]
KNOWN = {1: ("START", 2), 3: ("CHANGE", 1)}
GOOD = [live(3, "CHANGE", 1, "kept"), live(9, "FINISH", 2, "bye"), live(1, "START", 2, "new")]


def test_an_answer_in_any_order_with_unsent_rows_matches_by_id_and_key() -> None:
    check = check_answer(SENT, GOOD, ref=(1, 2), known=KNOWN)
    assert (check.problem, check.doubts) == (None, [])
    assert {i: r.id for i, r in check.rows.items()} == {0: 1, 1: 9}


def test_what_the_answer_alone_proves_is_a_problem() -> None:
    def problem(answer: list[Communication]) -> str:
        return str(check_answer(SENT, answer, ref=(1, 2), known=KNOWN).problem)

    assert "id 1 twice" in problem([*GOOD, live(1, "START", 2, "other")])
    two_new = problem([*GOOD, live(10, "FINISH", 2, "bye")])
    assert "answered with 2 new communications (ids 9, 10)" in two_new
    moved = problem([live(1, "START", 2, "new"), live(3, "FINISH", 2, "bye")])
    assert "the create of FINISH on channelId 2 was answered with id 3" in moved
    foreign = problem([GOOD[0].model_copy(update={"targetId": 7}), *GOOD[1:]])
    assert "belongs to target group ?, target 7" in foreign


def test_what_a_reread_must_settle_is_a_doubt() -> None:
    missing = check_answer(SENT, GOOD[:2], ref=(1, 2), known=KNOWN)
    assert (missing.problem, missing.doubts) == (None, ["the answer has no row with id 1"])
    other = [*GOOD[:2], live(1, "START", 2, "rewritten")]
    differs = check_answer(SENT, other, ref=(1, 2), known=KNOWN, channels={2: "EMAIL"})
    assert differs.doubts == [
        "START on EMAIL (channelId 2): the answer's messageTemplate differ from what was sent"
    ]
