"""Execute a Plan (SPEC §6): one upsert per changed target, outcomes as values, never one target
stopping the others; ambiguous writes are resolved by re-reading, never by blind resending.

Not *whether* to apply (threshold, confirmation, staleness: ``apply``). The per-target state
machine; ``verify`` judges answers, ``recovery`` what an ambiguous write left undone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.applier import canary
from reconciler.applier.body import needs_live, request_bodies
from reconciler.applier.canary import Violation
from reconciler.applier.outcomes import ApplyResult as ApplyResult
from reconciler.applier.outcomes import Exchange, describe, recovered, stop_reason
from reconciler.applier.outcomes import TargetOutcome as TargetOutcome
from reconciler.applier.recovery import duplicate_deactivations, not_shown, remaining_writes
from reconciler.applier.saved import stale_targets as stale_targets
from reconciler.applier.verify import (
    AnswerCheck,
    KnownKeys,
    Verdict,
    check_answer,
    judge,
    known_keys,
)
from reconciler.contract import Contract
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    PermissionDenied,
    ReconcilerError,
)
from reconciler.plan import Plan, Snapshot, TargetPlan

ASSUMED = Contract()
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

    async def upsert_communication(
        self, group_id: int, target_id: int, write: CommunicationWrite
    ) -> Communication: ...


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
    """Applies the changed targets of a plan with bounded concurrency, under the API's contract
    (SPEC §9); with ``canary``, the first target is written and checked alone first."""

    def __init__(
        self,
        client: Writer,
        *,
        parallelism: int = 8,
        settle_seconds: float = SETTLE_SECONDS,
        on_done: Callable[[TargetOutcome], None] | None = None,
        contract: Contract = ASSUMED,
        canary: bool = False,
        record: bool = False,
    ) -> None:
        self.client = client
        self.parallelism = parallelism
        self.settle_seconds = settle_seconds
        self.on_done = on_done
        self.contract = contract
        self.canary = canary
        self.stop = asyncio.Event()
        self.fatal: ReconcilerError | None = None
        self.halted: Violation | None = None  # what the canary found; nothing else starts
        self._channels: Mapping[int, str] = {}
        self._live: dict[tuple[int, int], Sequence[Communication]] = {}
        self._sent: dict[tuple[int, int], list[CommunicationWrite]] = {}
        self._refused: set[tuple[int, int]] = set()  # targets whose write got a 4xx
        # With ``record``: each target's live rows as read, kept before its first write
        # (issue 19: the pre-images a rollback restores), in full as the API answered them.
        self.record = record
        self.pre_images: dict[tuple[int, int], list[dict[str, object]]] = {}

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
        self._live = dict(live or {})

        async def run(target: TargetPlan, canary: bool = False) -> TargetOutcome:
            async with gate:
                if self.stop.is_set() or self.fatal is not None or self.halted is not None:
                    outcome = TargetOutcome(target, "skipped", f"not started ({self._why()})")
                else:
                    outcome = await self._apply_target(target)
                    if canary:
                        outcome = await self._check_canary(target, outcome)
            if self.on_done:
                self.on_done(outcome)
            return outcome

        outcomes: list[TargetOutcome] = []
        if targets:
            # The first target is written alone: the canary checks it before any other target
            # starts (SPEC §9), and a 401 or 403 (read-only credentials, a missing grant) stops
            # the run after that one request, with no other target's write on the wire.
            outcomes.append(await run(targets[0], canary=self.canary))
            targets = targets[1:]
        outcomes += await asyncio.gather(*(run(t) for t in targets))
        result = ApplyResult(outcomes, interrupted=self.stop.is_set())
        if any(o.status == "skipped" for o in outcomes):
            result.stop_reason = stop_reason(self.stop.is_set(), self.halted, self.fatal)
        if self.canary and outcomes:
            result.canary_target = outcomes[0].target
        if self.halted is not None and outcomes:
            result.canary = self.halted
            result.fatal_error = self.halted.message(outcomes[0].target.label)
        return result

    def _why(self) -> str:
        if self.stop.is_set():
            return "interrupted"
        if self.halted is not None:
            return "the canary check failed"
        return f"run stopped: {self.fatal}"

    async def _apply_target(self, target: TargetPlan) -> TargetOutcome:
        outcome = TargetOutcome(target, "applied")
        try:
            live = await self._before(target)
        except (AuthError, PermissionDenied) as exc:
            self.fatal = exc
            return self._failed(outcome, exc.message)
        except ApiError as exc:
            return self._failed(outcome, f"could not be read before writing: {exc.message}")
        except _Inconsistent as exc:
            return self._failed(outcome, str(exc))
        known = known_keys(target, live)
        try:
            await self.send(target, target.writes(live), outcome, known, live)
        except AmbiguousWriteError as exc:
            outcome.exchanges[-1].error = exc.message
            return await self._recover(target, outcome, known)
        except (AuthError, PermissionDenied) as exc:
            self.fatal = exc
            return self._failed(outcome, exc.message)
        except ApiError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                self._refused.add(target.ref)
            return self._failed(outcome, exc.message)
        except _Inconsistent as exc:
            return self._failed(outcome, str(exc))
        outcome.message = describe(target)
        return outcome

    async def _before(self, target: TargetPlan) -> Sequence[Communication] | None:
        """The live rows the target's writes start from: the read it was planned (or found
        fresh) against; read now when the body, the canary or the record needs them and none
        was kept. With ``record``, they are kept as the target's pre-image (issue 19)."""
        live = self._live.get(target.ref)
        if live is None and (self.canary or self.record or needs_live(self.contract)):
            live = await self.client.get_communications(*target.ref)
            if not target.matches(live):
                raise _Inconsistent(
                    "live state changed since it was planned; nothing was written to it: plan again"
                )
            self._live[target.ref] = live
        if self.record and live is not None:
            self.pre_images.setdefault(target.ref, [row.model_dump(mode="json") for row in live])
        return live

    async def _check_canary(self, target: TargetPlan, outcome: TargetOutcome) -> TargetOutcome:
        """Re-read the canary target and check what SPEC §2 assumes (``canary.check``)."""
        if self.fatal is not None or self.stop.is_set():
            return outcome  # the run stops anyway, for its own reason
        violation: Violation | None
        if outcome.ok:
            before, sent = self._live.get(target.ref, ()), self._sent.get(target.ref, [])
            try:
                violation = await canary.reread(
                    self.client, target.ref, before, sent, self._channels, self.settle_seconds
                )
            except (AuthError, PermissionDenied) as exc:
                self.fatal = exc
                return self._failed(outcome, f"canary re-read: {exc.message}")
        else:
            violation = canary.from_failure(outcome.message, refused=target.ref in self._refused)
        if violation is None:
            return outcome
        self.halted = violation
        if not outcome.ok:
            return outcome  # its message says what went wrong; the run's error line says more
        return self._failed(outcome, f"canary check: {violation.verdict}: {violation.assumption}")

    async def send(
        self,
        target: TargetPlan,
        writes: Sequence[CommunicationWrite],
        outcome: TargetOutcome,
        known: KnownKeys,
        live: Sequence[Communication] | None,
    ) -> list[Communication]:
        """Send ``writes`` in the requests the contract needs (``body.request_bodies``: one,
        or one per communication); returns every element's row as stored."""
        stored: list[Communication] = []
        for elements in request_bodies(writes, self.contract, live or ()):
            rows = await self._request(target, elements, outcome, known)
            known = {**known, **{r.id: (r.communicationType, r.channelId) for r in rows}}
            stored += rows
        return stored

    async def _request(
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
        self._sent.setdefault(target.ref, []).extend(writes)
        known = {**known, **{w.id: (w.communicationType, w.channelId) for w in writes if w.id}}
        try:
            if self.contract.body == "object":
                (write,) = writes
                answer = [await self.client.upsert_communication(*target.ref, write)]
            else:
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
            return recovered(outcome, live, state.doubles)
        if state.rounds >= MAX_RECOVERY_ROUNDS:
            return self._failed(
                outcome,
                f"outcome still unknown after {MAX_RECOVERY_ROUNDS} recovery attempts; "
                "run apply again to converge",
            )
        state.rounds += 1
        state.doubles.update(w.id for w in extra if w.id is not None)
        now_known = {**known, **known_keys(target, live)}
        stored = await self.send(target, writes, outcome, now_known, live)
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
        # On an API that finds rows by key or type, an id cannot single out a duplicate.
        doubles = duplicate_deactivations(target, live) if self.contract.match == "id" else []
        extra = [w for w in doubles if w.id not in sending]
        return live, writes + extra, extra

    @staticmethod
    def _failed(outcome: TargetOutcome, message: str) -> TargetOutcome:
        outcome.status = "failed"
        outcome.message = message
        return outcome
