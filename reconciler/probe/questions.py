"""The questions ``reconciler probe`` answers, what each assumes, and what the tool does when an
answer differs; the answers and the report they make. Pure data: no I/O, no API import (the
renderer reads it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.contract import Contract, ContractFile

QuestionId = Literal["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]


@dataclass(frozen=True)
class ProbeRequest:
    """What the user asked for: the scratch target, the channel of the probe's rows, and
    whether the target may have active communications."""

    target_group: int | str
    target: int | str
    channel: int | str | None = None
    allow_active: bool = False


@dataclass(frozen=True)
class Question:
    id: QuestionId
    label: str  # the short form the table shows
    text: str  # the question in full (the contract file keeps it)
    assumed: str  # what the tool assumes until a probe says otherwise


QUESTIONS: dict[QuestionId, Question] = {
    q.id: q
    for q in (
        Question(
            "a",
            "element with id",
            "Does an element with an id update that row?",
            "it updates that row",
        ),
        Question(
            "b",
            "existing key, no id",
            "Does an element without an id whose key exists update that row or add a second one?",
            "it adds a second row (match: id)",
        ),
        Question(
            "c",
            "rows left out",
            "Are rows left out of a body kept, deactivated or deleted?",
            "kept (upsert: merge)",
        ),
        Question(
            "d",
            "inactive rows",
            "Does the GET return inactive rows?",
            "yes (inactiveRowsVisible: true)",
        ),
        Question(
            "e",
            "update without configs",
            "Does an update without configs keep the row's configs?",
            "it keeps them (keepsServerFields: true)",
        ),
        Question(
            "f",
            "answer order",
            "Do the rows of an answer come in the order sent?",
            "in the order sent (the tool matches by id and key anyway)",
        ),
        Question(
            "g",
            "unknown body field",
            "Is an unknown field in a body accepted or rejected?",
            "no assumption: the tool sends only the documented fields",
        ),
        Question(
            "h",
            "invalid type",
            "What status and body does an invalid communicationType get?",
            "a 4xx answer with the error envelope",
        ),
        Question(
            "i",
            "channelId echo",
            "Is channelId answered as sent (type and value)?",
            "as sent: the same integer",
        ),
        Question(
            "j",
            "body shape",
            "Does the upsert accept an array, or only one object?",
            "an array (body: array)",
        ),
        Question(
            "k",
            "second channel, one type",
            "Does a second channel for a communicationType add a row or overwrite the "
            "existing row's channel?",
            "it adds a row (match: id or key)",
        ),
    )
}

# What the tool does when an answer differs, by question (and, where it varies, by answer).
CONSEQUENCES: dict[str, str] = {
    "a": "updates by id do not work here: do not apply to this org until this is understood",
    "b": "match: key — the server finds rows by (communicationType, channelId); the tool "
    "never sends two rows of one key in one body",
    "c": "upsert: replace — every write will carry the target's whole set (unchanged rows with "
    "their ids), so nothing is lost",
    "d": "inactiveRowsVisible: false — a re-activation cannot reuse an id and is planned as a "
    "create, and the plan says so",
    "e": "keepsServerFields: false — every update echoes the live row's configs back",
    "f": "nothing: answers are matched by id and key, never by position",
    "h": "nothing: validate refuses an unknown communicationType before anything is sent",
    "i-string": "nothing: ids and channelId answered as numeric strings are read as numbers",
    "i": "nothing: every write is judged by re-reading the target, not by its answer",
    "j": "body: object — one request per communication, and the plan's request count says so",
    "k": "match: type — manifests that declare two channels for one type on a target are "
    "refused at plan time",
}


@dataclass
class Answer:
    """One question's answer. ``matches`` is None when nothing is assumed or the probe could
    not decide (the assumption stays); ``steps`` name the evidence entries it rests on."""

    id: QuestionId
    answer: str
    matches: bool | None
    consequence: str = ""
    steps: list[int] = field(default_factory=list)

    @property
    def question(self) -> Question:
        return QUESTIONS[self.id]

    def to_json(self, evidence: list[dict[str, object]]) -> dict[str, object]:
        return {
            "id": self.id,
            "question": self.question.text,
            "assumed": self.question.assumed,
            "answer": self.answer,
            "matches": self.matches,
            "consequence": self.consequence,
            "evidence": [e for e in evidence if e.get("step") in self.steps],
        }


@dataclass(frozen=True)
class Leftover:
    """A row the probe created (or the server changed) that it could not put back."""

    id: int
    communicationType: str
    channelId: int | None
    why: str

    def describe(self) -> str:
        channel = "?" if self.channelId is None else str(self.channelId)
        return f"id {self.id} ({self.communicationType}, channel {channel}): {self.why}"


@dataclass
class Cleanup:
    """What a clean-up did: rows deactivated, target rows restored, and what is left."""

    targetGroupId: int
    targetId: int
    deactivated: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)
    left: list[Leftover] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.left


@dataclass
class ProbeReport:
    """Everything one probe found: the target, the answers and their evidence, the contract
    they make, and the clean-ups (an earlier interrupted probe's first, if there was one)."""

    environment: str
    endpoint: str
    probedAt: str
    targetGroupId: int
    targetGroupName: str
    targetId: int
    targetName: str
    channels: list[tuple[int, str]]  # the probe's channel, then the second one (if any)
    types: tuple[str, str]  # the communication types of rows A and B
    answers: list[Answer]
    evidence: list[dict[str, object]]
    contract: Contract
    cleanup: Cleanup
    document: ContractFile
    contract_file: str  # where the contract was written
    journal_file: str  # where the journal is (kept only when the clean-up is incomplete)
    earlier: Cleanup | None = None

    @property
    def differs(self) -> list[Answer]:
        return [a for a in self.answers if a.matches is False]
