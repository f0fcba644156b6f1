"""What applying a plan came to (SPEC §6): each target's outcome as a value, with the upsert
exchanges that led to it. Plain data: ``execute`` fills it in; ``report`` and the CLI read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from reconciler.errors import AuthError, PermissionDenied
from reconciler.plan import Action, TargetPlan

if TYPE_CHECKING:
    from reconciler.api.wire import Communication
    from reconciler.applier.canary import Violation

Status = Literal["applied", "recovered", "failed", "skipped"]


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
    canary_target: TargetPlan | None = None  # the target the canary wrote and checked
    canary: Violation | None = None  # what the canary found wrong; it stopped the run
    repairs: list[TargetOutcome] = field(default_factory=list)  # server fields written back
    stop_reason: str | None = None  # why targets were not started, for the summary line

    @property
    def failed(self) -> list[TargetOutcome]:
        done = [*self.outcomes, *self.repairs]
        return [o for o in done if o.status in ("failed", "skipped")]

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


_DONE: tuple[tuple[Action, str], ...] = (
    ("create", "created"),
    ("update", "updated"),
    ("deactivate", "deactivated"),
)


def describe(target: TargetPlan) -> str:
    """What applying ``target`` did, as counts: ``1 created, 2 updated`` (or ``no change``)."""
    parts = [f"{target.count(action)} {word}" for action, word in _DONE if target.count(action)]
    return ", ".join(parts) or "no change"


def recovered(
    outcome: TargetOutcome, live: Sequence[Communication], doubles: set[int]
) -> TargetOutcome:
    """``outcome`` as recovered after an ambiguous write, naming the duplicates (``doubles``)
    that the recovery deactivated and the re-read ``live`` shows inactive."""
    removed = sorted(c.id for c in live if c.id in doubles and not c.active)
    outcome.status = "recovered"
    outcome.message = f"{describe(outcome.target)}; recovered after ambiguous write"
    if len(removed) == 1:
        outcome.message += f", removed a duplicate (id {removed[0]})"
    elif removed:
        ids = ", ".join(map(str, removed))
        outcome.message += f", removed {len(removed)} duplicates (ids {ids})"
    return outcome


def stop_reason(interrupted: bool, halted: object, fatal: Exception | None) -> str:
    """Why a run started no more targets, in a few words for the summary line."""
    if interrupted:
        return "interrupted"
    if halted is not None:
        return "the canary check failed"
    if isinstance(fatal, PermissionDenied):
        return "the run stopped at HTTP 403 (access denied)"
    if isinstance(fatal, AuthError):
        return "the run stopped at HTTP 401 (authentication failed)"
    return "the run stopped"
