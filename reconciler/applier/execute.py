"""Execute a Plan (SPEC §6): one upsert per changed target, outcomes as values, never one target
stopping the others; ambiguous writes are resolved by re-reading, never by blind resending.

Does not decide *whether* to apply (safety threshold, confirmation, staleness): ``apply`` does.
The per-target state machine lives here; ``verify`` judges answers, ``recovery`` works out
what an ambiguous write left undone, ``outcomes`` holds the results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.applier.outcomes import ApplyResult as ApplyResult
from reconciler.applier.outcomes import Exchange, describe
from reconciler.applier.outcomes import TargetOutcome as TargetOutcome
from reconciler.applier.recovery import duplicate_deactivations, not_shown, remaining_writes
from reconciler.applier.verify import (
    AnswerCheck,
    KnownKeys,
    Verdict,
    check_answer,
    judge,
    known_keys,
)
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    PermissionDenied,
    ReconcilerError,
)
from reconciler.plan import Plan, Snapshot, TargetPlan, fingerprint

# After an ambiguous write, a create that the re-read does not show is re-checked after this
# delay before it is sent again, so read-after-write lag cannot produce a duplicate.
SETTLE_SECONDS = 2.5
MAX_RECOVERY_ROUNDS = 3
# After recovery wrote something, the target is re-read until it shows what the answers showed
# (read-after-write lag), at most this many times per write, one settle delay apart.
MAX_LAG_WAITS = 4


class Writer(Protocol):
    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]: ...

    async def upsert_communications(
        self, group_id: int, target_id: int, writes: Sequence[CommunicationWrite]
    ) -> list[Communication]: ...


class _Inconsistent(Exception):
    """The API's answer, confirmed by a re-read where one can help, contradicts the write."""


@dataclass
class _Recovery:
    """Where the recovery of one target stands, between its rounds."""

    expected: dict[int, Snapshot] = field(default_factory=dict)  # rows as its writes stored them
    doubles: set[int] = field(default_factory=set)  # ids deactivated as duplicates
    rounds: int = 0
    waits: int = 0


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
        outcome.message = describe(target)
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
        verdict: Verdict | None = None
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
            verdict = judge(writes, check, live, known, self._channels)
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
        state = _Recovery()
        while True:
            try:
                done = await self._recovery_round(target, outcome, known, state)
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
            if done is not None:
                return done

    async def _recovery_round(
        self, target: TargetPlan, outcome: TargetOutcome, known: KnownKeys, state: _Recovery
    ) -> TargetOutcome | None:
        """One re-read and what follows from it: the final outcome, or None for another round
        (after waiting for read-after-write lag, or after sending what was still missing)."""
        live = await self.client.get_communications(*target.ref)
        behind = not_shown(live, state.expected)
        if behind:
            if state.waits >= MAX_LAG_WAITS:
                return self._failed(
                    outcome,
                    "after an ambiguous write: the writes that recovered it were "
                    f"answered, but re-reads still do not show ids {behind}, so "
                    "duplicates could not be ruled out; run apply again to converge",
                )
            state.waits += 1
            await asyncio.sleep(self.settle_seconds)
            return None
        live, writes, extra = await self._still_to_write(target, live)
        if not writes:
            return self._recovered(target, outcome, live, state.doubles)
        if state.rounds >= MAX_RECOVERY_ROUNDS:
            return self._failed(
                outcome,
                f"outcome still unknown after {MAX_RECOVERY_ROUNDS} recovery attempts; "
                "run apply again to converge",
            )
        state.rounds += 1
        state.doubles.update(w.id for w in extra if w.id is not None)
        now_known = {**known, **known_keys(target, live)}
        stored = await self._send(target, writes, outcome, now_known)
        state.expected.update((row.id, Snapshot.of(row)) for row in stored)
        state.waits = 0  # each write's rows get the whole lag budget
        return None

    async def _still_to_write(
        self, target: TargetPlan, live: list[Communication]
    ) -> tuple[list[Communication], list[CommunicationWrite], list[CommunicationWrite]]:
        """The live state to judge by, every write still to send, and which of them deactivate
        duplicates. A create not shown yet may be committed but not visible: it is looked for
        once more after the settle delay before it is sent again."""
        writes, creates = remaining_writes(target, live)
        if creates:
            await asyncio.sleep(self.settle_seconds)
            live = await self.client.get_communications(*target.ref)
            writes, creates = remaining_writes(target, live)
            writes += [c.write() for c in creates]
        sending = {w.id for w in writes if w.id is not None}
        extra = [w for w in duplicate_deactivations(target, live) if w.id not in sending]
        return live, writes + extra, extra

    @staticmethod
    def _recovered(
        target: TargetPlan,
        outcome: TargetOutcome,
        live: Sequence[Communication],
        doubles: set[int],
    ) -> TargetOutcome:
        removed = sorted(c.id for c in live if c.id in doubles and not c.active)
        outcome.status = "recovered"
        outcome.message = f"{describe(target)}; recovered after ambiguous write"
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
