"""Execute a Plan (SPEC §6): one upsert per changed target, outcomes as values, never one target
stopping the others; ambiguous writes are resolved by re-reading, never by blind resending.

Does not decide *whether* to apply (safety threshold, confirmation, staleness): ``apply`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    PermissionDenied,
    ReconcilerError,
)
from reconciler.plan import Action, Change, Plan, Snapshot, TargetPlan, fingerprint

Status = Literal["applied", "recovered", "failed", "skipped"]
# After an ambiguous write, a create that the re-read does not show is re-checked after this
# delay before it is sent again, so read-after-write lag cannot produce a duplicate.
SETTLE_SECONDS = 2.5
MAX_RECOVERY_ROUNDS = 3


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


def _same(stored: Communication, snapshot: Snapshot) -> bool:
    return all(getattr(stored, name) == getattr(snapshot, name) for name in Snapshot.model_fields)


def inconsistency(
    writes: Sequence[CommunicationWrite], stored: Sequence[Communication]
) -> str | None:
    """Why the upsert's answer does not match what was sent, or None when it does."""
    if len(stored) != len(writes):
        return f"sent {len(writes)} communications, the API answered with {len(stored)}"
    for sent, got in zip(writes, stored, strict=True):
        wanted = Snapshot(**sent.model_dump(exclude={"id"}))
        if sent.id is not None and got.id != sent.id:
            return f"sent an update of id {sent.id}, the API answered with id {got.id}"
        if not _same(got, wanted):
            fields = [n for n in Snapshot.model_fields if getattr(got, n) != getattr(wanted, n)]
            return (
                f"{sent.communicationType} on channelId {sent.channelId}: "
                f"stored {', '.join(fields)} differ from what was sent"
            )
    return None


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
            if any(_same(c, change.after) for c in matches):
                continue
            if matches:  # the key exists now: make it right by id instead of inserting again
                newest = max(matches, key=lambda c: c.id)
                writes.append(CommunicationWrite(id=newest.id, **change.after.model_dump()))
            else:
                creates.append(change)
            continue
        current = by_id.get(change.id) if change.id is not None else None
        if current is None or not _same(current, change.after):
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

    async def apply(self, plan: Plan) -> ApplyResult:
        gate = asyncio.Semaphore(self.parallelism)
        targets = plan.changed_targets

        async def run(target: TargetPlan) -> TargetOutcome:
            async with gate:
                if self.stop.is_set() or self.fatal is not None:
                    why = "interrupted" if self.stop.is_set() else f"run stopped: {self.fatal}"
                    outcome = TargetOutcome(target, "skipped", f"not started ({why})")
                else:
                    outcome = await self._apply_target(target)
            if self.on_done:
                self.on_done(outcome)
            return outcome

        outcomes = await asyncio.gather(*(run(t) for t in targets))
        return ApplyResult(list(outcomes), interrupted=self.stop.is_set())

    async def _apply_target(self, target: TargetPlan) -> TargetOutcome:
        outcome = TargetOutcome(target, "applied")
        writes = target.writes()
        try:
            await self._send(target, writes, outcome)
        except AmbiguousWriteError as exc:
            outcome.exchanges[-1].error = exc.message
            return await self._recover(target, outcome)
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
        self, target: TargetPlan, writes: Sequence[CommunicationWrite], outcome: TargetOutcome
    ) -> None:
        exchange = Exchange(sent=[w.to_body() for w in writes])
        outcome.exchanges.append(exchange)
        try:
            stored = await self.client.upsert_communications(*target.ref, writes)
        except ApiError as exc:
            exchange.error = exc.message
            raise
        exchange.response = [c.model_dump(mode="json") for c in stored]
        problem = inconsistency(writes, stored)
        if problem:
            exchange.error = f"API returned an inconsistent result: {problem}"
            raise _Inconsistent(exchange.error)

    async def _recover(self, target: TargetPlan, outcome: TargetOutcome) -> TargetOutcome:
        """Re-read, work out what is still missing, send only that; bounded rounds."""
        for _ in range(MAX_RECOVERY_ROUNDS):
            try:
                live = await self.client.get_communications(*target.ref)
                writes, creates = remaining_writes(target, live)
                if creates:
                    # The write may be committed but not yet visible: look again before inserting.
                    await asyncio.sleep(self.settle_seconds)
                    live = await self.client.get_communications(*target.ref)
                    writes, creates = remaining_writes(target, live)
                    writes += [c.write() for c in creates]
                if not writes:
                    outcome.status = "recovered"
                    outcome.message = f"{_describe(target)}; recovered after ambiguous write"
                    return outcome
                await self._send(target, writes, outcome)
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
            outcome.status = "recovered"
            outcome.message = f"{_describe(target)}; recovered after ambiguous write"
            return outcome
        return self._failed(
            outcome,
            f"outcome still unknown after {MAX_RECOVERY_ROUNDS} recovery attempts; "
            "run apply again to converge",
        )

    @staticmethod
    def _failed(outcome: TargetOutcome, message: str) -> TargetOutcome:
        outcome.status = "failed"
        outcome.message = message
        return outcome


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


async def stale_targets(plan: Plan, client: Writer, parallelism: int) -> list[str]:
    """Targets whose live state no longer has the plan's fingerprint (SPEC §6 saved plans)."""
    gate = asyncio.Semaphore(parallelism)

    async def check(target: TargetPlan) -> str | None:
        async with gate:
            try:
                live = await client.get_communications(*target.ref)
            except (AuthError, PermissionDenied):
                raise
            except ApiError as exc:
                return f"{target.label} (could not be re-read: {exc.message})"
        return None if fingerprint(live) == target.fingerprint else target.label

    results = await asyncio.gather(*(check(t) for t in plan.changed_targets))
    return [r for r in results if r is not None]
