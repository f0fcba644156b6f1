"""The probe's questions: one per letter a to k, each with what it assumes; what the tool does
when an answer differs; and an answer's record in the contract file."""

from __future__ import annotations

from reconciler.probe.questions import CONSEQUENCES, QUESTIONS, Answer, Cleanup, Leftover


def test_there_are_eleven_questions_each_with_its_assumption() -> None:
    assert "".join(QUESTIONS) == "abcdefghijk"
    for qid, question in QUESTIONS.items():
        assert question.id == qid
        assert question.text.endswith("?")
        assert question.assumed
        assert "SPEC" not in question.text + question.assumed


def test_every_answer_that_can_differ_says_what_the_tool_does() -> None:
    assert set("abcdefhijk") <= set(CONSEQUENCES)
    assert "g" not in CONSEQUENCES  # nothing is assumed about unknown fields
    for setting, question in (
        ("match: key", "b"),
        ("upsert: replace", "c"),
        ("inactiveRowsVisible: false", "d"),
        ("keepsServerFields: false", "e"),
        ("body: object", "j"),
        ("match: type", "k"),
    ):
        assert CONSEQUENCES[question].startswith(setting)


def test_an_answer_keeps_only_the_evidence_of_its_steps() -> None:
    evidence: list[dict[str, object]] = [{"step": 1}, {"step": 2}, {"step": 3}]
    answer = Answer("c", "kept: id 7 stayed active", True, steps=[2, 3])
    assert answer.to_json(evidence) == {
        "id": "c",
        "question": "Are rows left out of a body kept, deactivated or deleted?",
        "assumed": "kept (upsert: merge)",
        "answer": "kept: id 7 stayed active",
        "matches": True,
        "consequence": "",
        "evidence": [{"step": 2}, {"step": 3}],
    }


def test_a_cleanup_is_complete_when_nothing_is_left() -> None:
    cleanup = Cleanup(2185, 2502, deactivated=[1, 2])
    assert cleanup.complete
    cleanup.left.append(Leftover(3, "START", None, "still active"))
    assert not cleanup.complete
    assert cleanup.left[0].describe() == "id 3 (START, channel ?): still active"
