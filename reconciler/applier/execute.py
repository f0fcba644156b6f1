"""Execute a Plan (SPEC §6): one upsert per changed target, outcomes as values, never one target
stopping the others; ambiguous writes are resolved by re-reading, never by blind resending.

Does not decide *whether* to apply (safety threshold, confirmation, staleness): ``apply`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from reconciler.api.ownership import describe_foreign, foreign_row
from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    PermissionDenied,
    ReconcilerError,
)
from reconciler.plan import Action, Change, Key, Plan, Snapshot, TargetPlan, fingerprint
from reconciler.planner import pick_match
from reconciler.textnorm import TEXT_FIELDS, explain

Status = Literal["applied", "recovered", "failed", "skipped"]
# After an ambiguous write, a create that the re-read does not show is re-checked after this
# delay before it is sent again, so read-after-write lag cannot produce a duplicate.
SETTLE_SECONDS = 2.5
MAX_RECOVERY_ROUNDS = 3
# After recovery wrote something, the target is re-read until it shows what the answers showed
# (read-after-write lag), at most this many times per write, one settle delay apart.
MAX_LAG_WAITS = 4
# What is known of a target's rows before a write: id -> key (type, channelId).
KnownKeys = dict[int, tuple[str, int]]


class Writer(Protocol):
    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]: ...

    async def upsert_communications(
        self, group_id: int, target_id: int, writes: Sequence[CommunicationWrite]
    ) -> list[Communication]: ...


@dataclass
class Exchange:
    """One upsert request: what was sent and what came back (or why nothing usable did)."""

    sent: list[dict[str, object]]
    response: list[dict[str, object]] | None = None
    error: str | None = None


@dataclass
class TargetOutcome:
    target: TargetPlan
    status: Status
    message: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    # Not failures: e.g. "the API stored messageTemplate with trailing whitespace removed".
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "recovered")


@dataclass
class ApplyResult:
    outcomes: list[TargetOutcome]
    interrupted: bool = False
    fatal_error: str | None = None  # an auth or permission failure that stopped the run

    @property
    def failed(self) -> list[TargetOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "skipped")]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted and self.fatal_error is None

    def warnings(self) -> dict[str, list[TargetOutcome]]:
        """Each distinct outcome warning, with the targets it concerns (reported once each)."""
        found: dict[str, list[TargetOutcome]] = {}
        for outcome in self.outcomes:
            for warning in outcome.warnings:
                found.setdefault(warning, []).append(outcome)
        return found


def _landed(stored: Communication, snapshot: Snapshot) -> bool:
    """Whether ``stored`` is ``snapshot`` as written, allowing a server's text normalisation
    (so recovery does not resend, round after round, what such a server stores differently)."""
    for name in Snapshot.model_fields:
        old, new = getattr(stored, name), getattr(snapshot, name)
        if old != new and (name not in TEXT_FIELDS or explain(new, old) is None):
            return False
    return True


def _differing(stored: Communication, sent: CommunicationWrite) -> list[str]:
    return [n for n in Snapshot.model_fields if getattr(stored, n) != getattr(sent, n)]


def _label(kind: str, channel: int, channels: Mapping[int, str] | None = None) -> str:
    return Key.model_construct(communicationType=kind, channelId=channel).label(channels)


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
    foreign = foreign_row(answer, *ref)
    if foreign is not None:
        check.problem = (
            f"the answer carries a row of another target: {describe_foreign(foreign, *ref)}"
        )
        return check
    by_id: dict[int, Communication] = {}
    for row in answer:
        if row.id in by_id and Snapshot.of(by_id[row.id]) != Snapshot.of(row):
            check.problem = f"the answer carries id {row.id} twice, with different contents"
            return check
        by_id[row.id] = row
    for row in by_id.values():
        before = known.get(row.id)
        now = (row.communicationType, row.channelId)
        if before is not None and before != now and not _sent_as(writes, row.id, now):
            check.problem = (
                f"the answer shows id {row.id} as {_label(*now, channels)}, but id {row.id} is "
                f"{_label(*before, channels)} in the live state the plan was made against"
            )
            if any(w.id is None and (w.communicationType, w.channelId) == now for w in writes):
                check.problem = (
                    f"the create of {_label(*now, channels)} was answered with id {row.id}, which "
                    f"belongs to another live communication ({_label(*before, channels)}); the API "
                    "seems to match communications by another key than (type, channel)"
                )
            return check
    for index, sent in enumerate(writes):
        key = (sent.communicationType, sent.channelId)
        if sent.id is not None:
            found = by_id.get(sent.id)
            if found is None:
                check.doubts.append(f"the answer has no row with id {sent.id}")
                continue
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
            if not new:
                check.doubts.append(
                    f"the answer has no new row for the create of {_label(*key, channels)}"
                )
                continue
            found = new[0]
        check.rows[index] = found
        fields = _differing(found, sent)
        if fields:
            check.doubts.append(
                f"{_label(*key, channels)}: the answer's {', '.join(fields)} differ from what was sent"
            )
    return check


def _sent_as(writes: Sequence[CommunicationWrite], id_: int, key: tuple[str, int]) -> bool:
    """Whether ``writes`` updates row ``id_`` to ``key`` (a planned key change of that row)."""
    return any(w.id == id_ and (w.communicationType, w.channelId) == key for w in writes)


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


def remaining_writes(
    target: TargetPlan, live: Sequence[Communication]
) -> tuple[list[CommunicationWrite], list[Change]]:
    """What of ``target``'s changes ``live`` does not show yet: writes to send, creates to confirm.

    Updates and deactivations carry ids, so resending them is idempotent. A create is never
    resent here: it is returned separately so the caller can confirm its absence after a delay.
    """
    by_id = {c.id: c for c in live}
    writes: list[CommunicationWrite] = []
    creates: list[Change] = []
    for change in target.changes:
        if change.action == "noop" or change.after is None:
            continue
        if change.action == "create":
            matches = [
                c
                for c in live
                if c.active
                and (c.communicationType, c.channelId)
                == (change.key.communicationType, change.key.channelId)
            ]
            if any(_landed(c, change.after) for c in matches):
                continue
            if matches:  # the key exists now: make it right by id instead of inserting again
                newest = max(matches, key=lambda c: c.id)
                writes.append(CommunicationWrite(id=newest.id, **change.after.model_dump()))
            else:
                creates.append(change)
            continue
        current = by_id.get(change.id) if change.id is not None else None
        if current is None or not _landed(current, change.after):
            writes.append(change.write())
    return writes, creates


class Applier:
    """Applies the changed targets of a plan with bounded concurrency."""

    def __init__(
        self,
        client: Writer,
        *,
        parallelism: int = 8,
        settle_seconds: float = SETTLE_SECONDS,
        on_done: Callable[[TargetOutcome], None] | None = None,
    ) -> None:
        self.client = client
        self.parallelism = parallelism
        self.settle_seconds = settle_seconds
        self.on_done = on_done
        self.stop = asyncio.Event()
        self.fatal: ReconcilerError | None = None
        self._channels: Mapping[int, str] = {}

    async def apply(
        self,
        plan: Plan,
        live: Mapping[tuple[int, int], Sequence[Communication]] | None = None,
    ) -> ApplyResult:
        """Apply ``plan``; ``live`` is the state each target was planned (or found fresh)
        against, when it was kept: the post-write check then knows every row's id."""
        gate = asyncio.Semaphore(self.parallelism)
        targets = plan.changed_targets
        self._channels = plan.channels
        live = live or {}

        async def run(target: TargetPlan) -> TargetOutcome:
            async with gate:
                if self.stop.is_set() or self.fatal is not None:
                    why = "interrupted" if self.stop.is_set() else f"run stopped: {self.fatal}"
                    outcome = TargetOutcome(target, "skipped", f"not started ({why})")
                else:
                    known = known_keys(target, live.get(target.ref))
                    outcome = await self._apply_target(target, known)
            if self.on_done:
                self.on_done(outcome)
            return outcome

        outcomes = await asyncio.gather(*(run(t) for t in targets))
        return ApplyResult(list(outcomes), interrupted=self.stop.is_set())

    async def _apply_target(self, target: TargetPlan, known: KnownKeys) -> TargetOutcome:
        outcome = TargetOutcome(target, "applied")
        writes = target.writes()
        try:
            await self._send(target, writes, outcome, known)
        except AmbiguousWriteError as exc:
            outcome.exchanges[-1].error = exc.message
            return await self._recover(target, outcome, known)
        except (AuthError, PermissionDenied) as exc:
            self.fatal = exc
            return self._failed(outcome, exc.message)
        except ApiError as exc:
            return self._failed(outcome, exc.message)
        except _Inconsistent as exc:
            return self._failed(outcome, str(exc))
        outcome.message = _describe(target)
        return outcome

    async def _send(
        self,
        target: TargetPlan,
        writes: Sequence[CommunicationWrite],
        outcome: TargetOutcome,
        known: KnownKeys,
    ) -> list[Communication]:
        """Send one upsert and check its answer; returns each write's row as stored.

        An answer that differs from what was sent is judged by re-reading the target (SPEC §6,
        §9): a difference the re-read confirms is an error, unless it is a text normalisation
        (then a warning); one the re-read does not confirm was only the answer's.
        """
        exchange = Exchange(sent=[w.to_body() for w in writes])
        outcome.exchanges.append(exchange)
        known = {**known, **{w.id: (w.communicationType, w.channelId) for w in writes if w.id}}
        try:
            answer = await self.client.upsert_communications(*target.ref, writes)
        except ApiError as exc:
            exchange.error = exc.message
            raise
        exchange.response = [c.model_dump(mode="json") for c in answer]
        check = check_answer(writes, answer, ref=target.ref, known=known, channels=self._channels)
        if check.problem is None and not check.doubts:
            return [check.rows[i] for i in range(len(writes))]
        if check.problem is None:
            try:
                return await self._confirm(target, writes, check, outcome, known)
            except _Inconsistent as exc:
                exchange.error = str(exc)
                raise
        exchange.error = f"API returned an inconsistent result: {check.problem}"
        raise _Inconsistent(exchange.error)

    async def _confirm(
        self,
        target: TargetPlan,
        writes: Sequence[CommunicationWrite],
        check: AnswerCheck,
        outcome: TargetOutcome,
        known: KnownKeys,
    ) -> list[Communication]:
        """Re-read the target to judge an answer that differs from what was sent."""
        verdict: _Verdict | None = None
        for attempt in range(2):
            if attempt:  # what the re-read showed may be read-after-write lag: look once more
                await asyncio.sleep(self.settle_seconds)
            try:
                live = await self.client.get_communications(*target.ref)
            except (AuthError, PermissionDenied):
                raise
            except ApiError as exc:
                raise _Inconsistent(
                    f"API returned an inconsistent result: {'; '.join(check.doubts)}, and the "
                    f"re-read to check it failed: {exc.message}"
                ) from None
            verdict = _judge(writes, check, live, known, self._channels)
            if not verdict.unwritten:
                break
        assert verdict is not None
        if verdict.problem is not None:
            raise _Inconsistent(f"API returned an inconsistent result: {verdict.problem}")
        for warning in verdict.warnings:
            if warning not in outcome.warnings:
                outcome.warnings.append(warning)
        return verdict.rows

    async def _recover(
        self, target: TargetPlan, outcome: TargetOutcome, known: KnownKeys
    ) -> TargetOutcome:
        """Re-read, work out what is still missing, send only that, until a re-read shows
        nothing missing and no duplicate of a declared key (bounded rounds).

        A duplicate the recovery itself produced (a create that was not visible yet, sent
        again, then both landed) is deactivated and reported, never left behind.
        """
        expected: dict[int, Snapshot] = {}  # rows as recovery's own writes stored them
        doubles: set[int] = set()  # ids deactivated as duplicates
        rounds = waits = 0
        while True:
            try:
                live = await self.client.get_communications(*target.ref)
                behind = _not_shown(live, expected)
                if behind:
                    if waits >= MAX_LAG_WAITS:
                        return self._failed(
                            outcome,
                            "after an ambiguous write: the writes that recovered it were "
                            f"answered, but re-reads still do not show ids {behind}, so "
                            "duplicates could not be ruled out; run apply again to converge",
                        )
                    waits += 1
                    await asyncio.sleep(self.settle_seconds)
                    continue
                writes, creates = remaining_writes(target, live)
                if creates:
                    # The write may be committed but not yet visible: look again before inserting.
                    await asyncio.sleep(self.settle_seconds)
                    live = await self.client.get_communications(*target.ref)
                    writes, creates = remaining_writes(target, live)
                    writes += [c.write() for c in creates]
                sending = {w.id for w in writes if w.id is not None}
                extra = [w for w in duplicate_deactivations(target, live) if w.id not in sending]
                writes += extra
                if not writes:
                    return self._recovered(target, outcome, live, doubles)
                if rounds >= MAX_RECOVERY_ROUNDS:
                    break
                rounds += 1
                doubles.update(w.id for w in extra if w.id is not None)
                now_known = {**known, **known_keys(target, live)}
                stored = await self._send(target, writes, outcome, now_known)
                expected.update((row.id, Snapshot.of(row)) for row in stored)
                waits = 0  # each write's rows get the whole lag budget
            except AmbiguousWriteError as exc:
                outcome.exchanges[-1].error = exc.message
                continue
            except (AuthError, PermissionDenied) as exc:
                self.fatal = exc
                return self._failed(outcome, exc.message)
            except ApiError as exc:
                return self._failed(outcome, f"after an ambiguous write: {exc.message}")
            except _Inconsistent as exc:
                return self._failed(outcome, str(exc))
        return self._failed(
            outcome,
            f"outcome still unknown after {MAX_RECOVERY_ROUNDS} recovery attempts; "
            "run apply again to converge",
        )

    @staticmethod
    def _recovered(
        target: TargetPlan,
        outcome: TargetOutcome,
        live: Sequence[Communication],
        doubles: set[int],
    ) -> TargetOutcome:
        removed = sorted(c.id for c in live if c.id in doubles and not c.active)
        outcome.status = "recovered"
        outcome.message = f"{_describe(target)}; recovered after ambiguous write"
        if len(removed) == 1:
            outcome.message += f", removed a duplicate (id {removed[0]})"
        elif removed:
            ids = ", ".join(map(str, removed))
            outcome.message += f", removed {len(removed)} duplicates (ids {ids})"
        return outcome

    @staticmethod
    def _failed(outcome: TargetOutcome, message: str) -> TargetOutcome:
        outcome.status = "failed"
        outcome.message = message
        return outcome


@dataclass
class _Verdict:
    """What a re-read says of an answer that differed from what was sent."""

    rows: list[Communication] = field(default_factory=list)
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)
    unwritten: bool = False  # some write looks not visible yet (the row as it was, or absent)


def _judge(
    writes: Sequence[CommunicationWrite],
    check: AnswerCheck,
    live: Sequence[Communication],
    known: KnownKeys,
    channels: Mapping[int, str],
) -> _Verdict:
    verdict = _Verdict()
    by_id = {c.id: c for c in live}
    problems: list[str] = []
    for index, sent in enumerate(writes):
        key = (sent.communicationType, sent.channelId)
        label = _label(*key, channels)
        answered = check.rows.get(index)
        stored: Communication | None
        if sent.id is not None:
            stored = by_id.get(sent.id)
        elif answered is not None:
            stored = by_id.get(answered.id)
        else:
            new = [c for c in live if (c.communicationType, c.channelId) == key]
            new = [c for c in new if c.id not in known]
            stored = new[0] if len(new) == 1 else None
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


def _unwritten(stored: Communication, answered: Communication) -> bool:
    """Whether the re-read row differs from the answer's (so it may not show the write yet)."""
    return Snapshot.of(stored) != Snapshot.of(answered)


def _not_shown(live: Sequence[Communication], expected: Mapping[int, Snapshot]) -> str:
    """The ids of ``expected`` rows that ``live`` does not show as expected, as text."""
    by_id = {c.id: c for c in live}
    missing = []
    for id_, snapshot in sorted(expected.items()):
        row = by_id.get(id_)
        if row is None and not snapshot.active:
            continue  # deactivated and no longer listed
        if row is None or Snapshot.of(row) != snapshot:
            missing.append(str(id_))
    return ", ".join(missing)


def duplicate_deactivations(
    target: TargetPlan, live: Sequence[Communication]
) -> list[CommunicationWrite]:
    """Deactivations of the extra active rows of each key the target declares active
    (SPEC §4: a declared key has exactly one active row). The row kept is the one the planner
    would match: the most recently updated (ties: the higher id)."""
    declared = {
        (c.key.communicationType, c.key.channelId)
        for c in target.changes
        if c.action != "deactivate" and c.after is not None and c.after.active
    }
    by_key: dict[tuple[str, int], list[Communication]] = {}
    for row in live:
        key = (row.communicationType, row.channelId)
        if row.active and key in declared:
            by_key.setdefault(key, []).append(row)
    writes = []
    for rows in by_key.values():
        _, others = pick_match(rows)
        for row in sorted(others, key=lambda c: c.id):
            snapshot = Snapshot.of(row).model_copy(update={"active": False})
            writes.append(CommunicationWrite(id=row.id, **snapshot.model_dump()))
    return writes


class _Inconsistent(Exception):
    pass


_DONE: tuple[tuple[Action, str], ...] = (
    ("create", "created"),
    ("update", "updated"),
    ("deactivate", "deactivated"),
)


def _describe(target: TargetPlan) -> str:
    parts = [f"{target.count(action)} {word}" for action, word in _DONE if target.count(action)]
    return ", ".join(parts) or "no change"


async def stale_targets(
    plan: Plan,
    client: Writer,
    parallelism: int,
    keep_live: dict[tuple[int, int], list[Communication]] | None = None,
) -> list[str]:
    """Targets whose live state no longer has the plan's fingerprint (SPEC §6 saved plans).

    With ``keep_live``, each re-read is kept there (the state the write then starts from)."""
    gate = asyncio.Semaphore(parallelism)

    async def check(target: TargetPlan) -> str | None:
        async with gate:
            try:
                live = await client.get_communications(*target.ref)
            except (AuthError, PermissionDenied):
                raise
            except ApiError as exc:
                return f"{target.label} (could not be re-read: {exc.message})"
        if keep_live is not None:
            keep_live[target.ref] = live
        return None if fingerprint(live) == target.fingerprint else target.label

    results = await asyncio.gather(*(check(t) for t in plan.changed_targets))
    return [r for r in results if r is not None]
