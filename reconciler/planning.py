"""Produce a Plan for a selection of manifests: load, select, resolve, read live state, diff.

The I/O half of planning; ``planner`` is the pure half. Targets outside the selection are never
read (SPEC §4 ownership); a failed read plans nothing for that target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from reconciler.api.wire import Channel, Communication, Target, TargetGroup
from reconciler.config import Settings
from reconciler.desired import DesiredTarget
from reconciler.errors import ApiError, AuthError, PermissionDenied, ValidationFailed
from reconciler.manifests import LoadedDocument, load_manifests
from reconciler.plan import Plan, TargetPlan
from reconciler.planner import LiveRead, ReadFailure, make_plan
from reconciler.resolve import resolve
from reconciler.selection import parse_selectors, selected, shard_of


class Reader(Protocol):
    async def list_target_groups(self) -> list[TargetGroup]: ...

    async def list_targets(self, group_id: int) -> list[Target]: ...

    async def list_channels(self) -> list[Channel]: ...

    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]: ...


@dataclass(frozen=True)
class Selection:
    """What a run covers (SPEC §5 plan options)."""

    paths: tuple[str, ...] = ()
    selectors: tuple[str, ...] = ()
    target_group: int | str | None = None
    shard: tuple[int, int] | None = None


@dataclass
class Planned:
    """A plan with what produced it, for re-planning: the desired state and the live reads of
    the targets that change or could not be read (the others' are not kept, to bound memory)."""

    plan: Plan
    desired: list[DesiredTarget]
    live: dict[tuple[int, int], LiveRead] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)


def load_desired_documents(settings: Settings, selection: Selection) -> list[LoadedDocument]:
    result = load_manifests(
        list(selection.paths or settings.manifests),
        variables=settings.env.vars,
        root=settings.root,
    )
    if result.diagnostics:
        raise ValidationFailed(result.diagnostics)
    selectors = parse_selectors(selection.selectors)
    return [
        doc
        for doc in result.documents
        if selected(doc.model.metadata.name, dict(doc.model.metadata.labels), selectors)
    ]


async def desired_state(
    settings: Settings, selection: Selection, client: Reader, parallelism: int
) -> tuple[list[DesiredTarget], dict[int, str]]:
    """Validated, selected and resolved desired targets, in a stable order."""
    documents = load_desired_documents(settings, selection)
    desired, channels = await resolve(
        documents, client, parallelism=parallelism, group_filter=selection.target_group
    )
    if selection.shard is not None:
        k, n = selection.shard
        desired = [d for d in desired if shard_of(d.targetGroupId, d.targetId, n) == k]
    return sorted(desired, key=lambda d: d.ref), channels


async def read_live(
    client: Reader,
    refs: Sequence[tuple[int, int]],
    parallelism: int,
    on_read: Callable[[tuple[int, int], LiveRead], None] | None = None,
) -> dict[tuple[int, int], LiveRead]:
    """One GET per target, concurrently; a failure becomes a ReadFailure for that target only.

    With ``on_read``, each read is handed over as it arrives and not kept (the result is empty),
    so a large run holds only the reads in flight. Authentication and permission failures stop
    the run: every other read would fail the same way.
    """
    gate = asyncio.Semaphore(parallelism)
    results: dict[tuple[int, int], LiveRead] = {}

    async def one(ref: tuple[int, int]) -> None:
        async with gate:
            try:
                read: LiveRead = await client.get_communications(*ref)
            except (AuthError, PermissionDenied):
                raise
            except ApiError as exc:
                read = ReadFailure(exc.message)
        if on_read is None:
            results[ref] = read
        else:
            on_read(ref, read)

    await asyncio.gather(*(one(ref) for ref in refs))
    return {ref: results[ref] for ref in refs} if on_read is None else results


async def make_run_plan(
    settings: Settings,
    selection: Selection,
    client: Reader,
    *,
    parallelism: int,
    now: datetime | None = None,
) -> Planned:
    desired, channels = await desired_state(settings, selection, client, parallelism)
    now = now or datetime.now(UTC)
    by_ref = {d.ref: d for d in desired}
    if len(by_ref) != len(desired):
        make_plan(desired, {}, settings.environment, now)  # raises PlanError naming both
    refs = list(by_ref)
    del desired
    planned: dict[tuple[int, int], TargetPlan] = {}
    kept: dict[tuple[int, int], tuple[DesiredTarget, LiveRead]] = {}

    def plan_read(ref: tuple[int, int], read: LiveRead) -> None:
        # Each target is planned as its read arrives, while other reads are on the wire, and
        # its desired state and read are let go unless it changes: CPU overlaps the network
        # and memory does not grow with the targets that need nothing (issue 9).
        wanted = by_ref.pop(ref)
        plan = make_plan([wanted], {ref: read}, settings.environment, now, channels=channels)
        planned[ref] = target = plan.targets[0]
        if isinstance(read, ReadFailure) or target.has_changes:
            kept[ref] = (wanted, read)

    await read_live(client, refs, parallelism, on_read=plan_read)
    shell = make_plan([], {}, settings.environment, now, channels=channels)
    plan = Plan(
        environment=shell.environment,
        generatedAt=shell.generatedAt,
        targets=tuple(planned[ref] for ref in sorted(planned)),
        warnings=shell.warnings,
        channels=shell.channels,
    )
    order = sorted(kept)
    return Planned(plan, [kept[r][0] for r in order], {r: kept[r][1] for r in order}, channels)
