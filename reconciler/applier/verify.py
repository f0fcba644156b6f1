"""The post-write check (SPEC §6, §9): an upsert's answer against what was sent, matched by id
and key (never by position), and a re-read's verdict on an answer that differed. Pure: the
applier does the reading and decides what happens next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.api.ownership import describe_foreign, foreign_row
from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.plan import Key, Snapshot, TargetPlan
from reconciler.textnorm import TEXT_FIELDS, explain

# What is known of a target's rows before a write: id -> key (type, channelId).
KnownKeys = dict[int, tuple[str, int]]


@dataclass
class AnswerCheck:
    """How an upsert answer compares with what was sent (SPEC §6), matched by id and key.

    ``problem``: the answer itself proves an inconsistency (a row of another target, a create
    answered with another row's id); no re-read can make that right. ``doubts``: differences
    that a re-read must confirm or dismiss. ``rows``: each write's row in the answer, by index.
    """

    problem: str | None = None
    doubts: list[str] = field(default_factory=list)
    rows: dict[int, Communication] = field(default_factory=dict)


@dataclass
class Verdict:
    """What a re-read says of an answer that differed from what was sent."""

    rows: list[Communication] = field(default_factory=list)
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)
    unwritten: bool = False  # some write looks not visible yet (the row as it was, or absent)


def known_keys(target: TargetPlan, live: Sequence[Communication] | None = None) -> KnownKeys:
    """The keys of the target's rows that exist before its write, by id: those of ``live``
    (the read the plan was made against, when it was kept) and those the plan names."""
    known: KnownKeys = {}
    for change in target.changes:
        if change.id is not None and change.before is not None:
            known[change.id] = (change.before.communicationType, change.before.channelId)
    for row in live or ():
        known[row.id] = (row.communicationType, row.channelId)
    return known


def check_answer(
    writes: Sequence[CommunicationWrite],
    answer: Sequence[Communication],
    *,
    ref: tuple[int, int],
    known: Mapping[int, tuple[str, int]],
    channels: Mapping[int, str] | None = None,
) -> AnswerCheck:
    """Match the answer to ``writes``: updates and deactivations by id, creates by key among
    the rows that did not exist before; never by position. The answer may be in any order and
    may carry rows that were not sent (a server answering with the whole target).

    ``known`` maps the ids of the target's rows before the write (the read it was planned
    against, the plan's own ids, the ids sent) to their keys.
    """
    check = AnswerCheck()
    by_id, check.problem = _index_answer(writes, answer, ref=ref, known=known, channels=channels)
    if check.problem is not None:
        return check
    for index, sent in enumerate(writes):
        key = (sent.communicationType, sent.channelId)
        if sent.id is not None:
            found = by_id.get(sent.id)
            missing = f"the answer has no row with id {sent.id}"
        else:
            new = [r for r in by_id.values() if (r.communicationType, r.channelId) == key]
            new = [r for r in new if r.id not in known]
            if len(new) > 1:
                ids = ", ".join(str(r.id) for r in sorted(new, key=lambda r: r.id))
                check.problem = (
                    f"one create of {_label(*key, channels)} was answered with {len(new)} new "
                    f"communications (ids {ids})"
                )
                return check
            found = new[0] if new else None
            missing = f"the answer has no new row for the create of {_label(*key, channels)}"
        if found is None:
            check.doubts.append(missing)
            continue
        check.rows[index] = found
        fields = _differing(found, sent)
        if fields:
            check.doubts.append(
                f"{_label(*key, channels)}: the answer's {', '.join(fields)} differ from what was sent"
            )
    return check


def _index_answer(
    writes: Sequence[CommunicationWrite],
    answer: Sequence[Communication],
    *,
    ref: tuple[int, int],
    known: Mapping[int, tuple[str, int]],
    channels: Mapping[int, str] | None,
) -> tuple[dict[int, Communication], str | None]:
    """The answer's rows by id, and what in the answer as a whole proves an inconsistency: a
    row of another target, one id with two contents, a known id under another key."""
    by_id: dict[int, Communication] = {}
    foreign = foreign_row(answer, *ref)
    if foreign is not None:
        return by_id, (
            f"the answer carries a row of another target: {describe_foreign(foreign, *ref)}"
        )
    for row in answer:
        if row.id in by_id and Snapshot.of(by_id[row.id]) != Snapshot.of(row):
            return by_id, f"the answer carries id {row.id} twice, with different contents"
        by_id[row.id] = row
    for row in by_id.values():
        before = known.get(row.id)
        now = (row.communicationType, row.channelId)
        if before is not None and before != now and not _sent_as(writes, row.id, now):
            if any(w.id is None and (w.communicationType, w.channelId) == now for w in writes):
                return by_id, (
                    f"the create of {_label(*now, channels)} was answered with id {row.id}, which "
                    f"belongs to another live communication ({_label(*before, channels)}); the API "
                    "seems to match communications by another key than (type, channel)"
                )
            return by_id, (
                f"the answer shows id {row.id} as {_label(*now, channels)}, but id {row.id} is "
                f"{_label(*before, channels)} in the live state the plan was made against"
            )
    return by_id, None


def _sent_as(writes: Sequence[CommunicationWrite], id_: int, key: tuple[str, int]) -> bool:
    """Whether ``writes`` updates row ``id_`` to ``key`` (a planned key change of that row)."""
    return any(w.id == id_ and (w.communicationType, w.channelId) == key for w in writes)


def judge(
    writes: Sequence[CommunicationWrite],
    check: AnswerCheck,
    live: Sequence[Communication],
    known: KnownKeys,
    channels: Mapping[int, str],
) -> Verdict:
    """What the re-read ``live`` says of each write whose answer differed (``check``): stored
    as sent (its row), stored with a text normalisation (a warning), or not (a problem)."""
    verdict = Verdict()
    by_id = {c.id: c for c in live}
    problems: list[str] = []
    for index, sent in enumerate(writes):
        label = _label(sent.communicationType, sent.channelId, channels)
        answered = check.rows.get(index)
        stored = _stored(sent, answered, live, by_id, known)
        if stored is None:
            if sent.id is not None and not sent.active:
                continue  # a deactivated row the API no longer lists: not active, as sent
            verdict.unwritten = True
            problems.append(f"{label}: a re-read does not show the written communication")
            continue
        fields = _differing(stored, sent)
        real = [
            n
            for n in fields
            if n not in TEXT_FIELDS or explain(getattr(sent, n), getattr(stored, n)) is None
        ]
        if real:
            if sent.id is not None and answered is not None and _unwritten(stored, answered):
                verdict.unwritten = True
            problems.append(
                f"{label}: stored {', '.join(real)} differ from what was sent (confirmed by a "
                "re-read)"
            )
            continue
        for name in fields:
            warning = (
                f"the API stored {name} with {explain(getattr(sent, name), getattr(stored, name))}"
            )
            if warning not in verdict.warnings:
                verdict.warnings.append(warning)
        verdict.rows.append(stored)
    if problems:
        verdict.problem = "; ".join(problems)
    return verdict


def _stored(
    sent: CommunicationWrite,
    answered: Communication | None,
    live: Sequence[Communication],
    by_id: Mapping[int, Communication],
    known: KnownKeys,
) -> Communication | None:
    """The re-read row of one write: by the id sent, else by the answer's id, else the one
    new row of its key (None if there is no such row, or several)."""
    if sent.id is not None:
        return by_id.get(sent.id)
    if answered is not None:
        return by_id.get(answered.id)
    key = (sent.communicationType, sent.channelId)
    new = [c for c in live if (c.communicationType, c.channelId) == key]
    new = [c for c in new if c.id not in known]
    return new[0] if len(new) == 1 else None


def _unwritten(stored: Communication, answered: Communication) -> bool:
    """Whether the re-read row differs from the answer's (so it may not show the write yet)."""
    return Snapshot.of(stored) != Snapshot.of(answered)


def _differing(stored: Communication, sent: CommunicationWrite) -> list[str]:
    return [n for n in Snapshot.model_fields if getattr(stored, n) != getattr(sent, n)]


def _label(kind: str, channel: int, channels: Mapping[int, str] | None = None) -> str:
    return Key.model_construct(communicationType=kind, channelId=channel).label(channels)
