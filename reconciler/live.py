"""Produce a Plan for a selection of manifests: load, select, resolve, read live state, diff.

The I/O half of planning; ``planner`` is the pure half. Targets outside the selection are never
read (SPEC §4 ownership); a failed read plans nothing for that target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from reconciler.addressing import types_declared_twice
from reconciler.api.wire import Channel, Communication, Target, TargetGroup
from reconciler.baseline import Baseline
from reconciler.config import Settings
from reconciler.contract import ActiveContract, Contract, active_contract
from reconciler.desired import DesiredTarget
from reconciler.errors import (
    ApiError,
    AuthError,
    PermissionDenied,
    PlanError,
    UsageError,
    ValidationFailed,
)
from reconciler.lint.engine import LintOptions, Located, lint_entries
from reconciler.manifests import LoadedDocument, ManifestLoader
from reconciler.plan import BaseInfo, Plan, ReleasedTarget, TargetPlan
from reconciler.planner import LiveRead, ReadFailure, assemble_plan, plan_target
from reconciler.resolve import Resolver
from reconciler.selection import no_group_match, no_match, parse_selectors, selected, shard_of


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
    changed_since: str | None = None  # a git ref: plan only what changed since (issue 18)
    base: str | None = None  # a git ref: label every change's origin against it


def run_contract(settings: Settings) -> ActiveContract:
    """The API contract this run honours (SPEC §9): the one place a command learns it."""
    return active_contract(
        settings.root, settings.environment, settings.env.contract, endpoint=settings.env.endpoint
    )


async def _read(client: Reader, ref: tuple[int, int]) -> LiveRead:
    """One target's live state; a failure is that target's alone, except authentication and
    permission failures, which stop the run (every other read would fail the same way)."""
    try:
        return await client.get_communications(*ref)
    except (AuthError, PermissionDenied):
        raise
    except ApiError as exc:
        return ReadFailure(exc.message)


async def make_run_plan(
    settings: Settings,
    selection: Selection,
    client: Reader,
    *,
    parallelism: int,
    now: datetime | None = None,
    keep_live: dict[tuple[int, int], list[Communication]] | None = None,
    contract: Contract | None = None,
    lint_warnings: list[Located] | None = None,
    labels: dict[tuple[int, int], dict[str, str]] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Plan:
    """Load and validate every manifest, then resolve, read and plan as one pipeline (issue 9).

    Nothing is sent until every manifest passes validation. Then each file's targets are read
    as soon as their names are resolved, and each target is planned as its read arrives; its
    desired state and read are let go once it is planned. A name that does not resolve fails
    the run with every such problem, possibly after other targets were read. Nothing here
    writes.

    With ``keep_live``, the live state of each target that has changes is kept there: apply's
    post-write check needs the ids of every row the write was planned against (issue 14).
    ``contract`` is the API's; without one, ``run_contract`` decides.

    The selected documents are linted first: a lint error fails the run like a validation
    error, before any request; ``lint_warnings`` receives the warnings (issue 17).
    ``labels`` receives each planned target's labels (apply's report keeps them, issue 19).

    ``on_progress(read, queued)`` is called as targets are queued and read (a progress bar).
    """
    now = now or datetime.now(UTC)
    contract = contract if contract is not None else run_contract(settings).contract
    paths = selection.paths or settings.manifests
    baseline = Baseline.of(settings, paths, selection.changed_since, selection.base)
    files = _load_selected(settings, selection, contract, baseline)
    _lint(settings, files, lint_warnings)
    resolver = Resolver(client, group_filter=selection.target_group, ignore=settings.env.ignore)
    queue: asyncio.Queue[DesiredTarget | None] = asyncio.Queue()
    queued: set[tuple[int, int]] = set()
    planned: dict[tuple[int, int], TargetPlan] = {}
    resolved = 0
    # A --target-group that no selected document declares is an error naming those that are.
    declared = (
        {d.model.target.targetGroup for f in files for d in f} if selection.target_group else ()
    )

    async def resolve_batch(documents: list[LoadedDocument]) -> None:
        nonlocal resolved
        for wanted in await resolver.resolve(documents):
            resolved += 1
            ref = wanted.ref
            # A second declaration is reported by resolver.check(); it is planned once.
            if _in_shard(ref, selection.shard) and ref not in queued:
                queued.add(ref)
                queue.put_nowait(wanted)
                if on_progress is not None:
                    on_progress(len(planned), len(queued))

    async def worker() -> None:
        while (wanted := await queue.get()) is not None:
            read = await _read(client, wanted.ref)
            target = plan_target(wanted, read, channels=resolver.channel_names, contract=contract)
            planned[wanted.ref] = target
            if baseline is not None:
                baseline.keep(wanted)
            if labels is not None:
                labels[wanted.ref] = dict(wanted.labels)
            if on_progress is not None:
                on_progress(len(planned), len(queued))
            if keep_live is not None and target.has_changes:
                assert not isinstance(read, ReadFailure)  # an unreadable target has no changes
                keep_live[wanted.ref] = list(read)

    failures = _Failures()
    workers = [failures.watch(worker()) for _ in range(max(1, parallelism))]
    batches: list[asyncio.Future[None]] = []
    based: tuple[BaseInfo, tuple[ReleasedTarget, ...]] | None = None
    try:
        resolver.start()
        # One batch per file: a file's targets are read as soon as its groups' target lists
        # arrive, while other groups' lists are still on the wire.
        batches = [failures.watch(resolve_batch(documents)) for documents in files]
        # With --changed-since nothing may be left to resolve: no group to check then.
        anything = any(files)
        del files
        await failures.wait(batches, also=workers)
        if baseline is not None:  # a changed document may declare an unchanged one's target
            await resolver.declare(baseline.unchanged)
        resolver.check()
        if selection.target_group is not None and anything and not resolved:
            raise UsageError(no_group_match(selection.target_group, declared))
        for _ in workers:
            queue.put_nowait(None)
        await failures.wait(workers)
        if baseline is not None:
            based = await baseline.finish(
                resolver, client, planned, selectors=selection.selectors, shard=selection.shard
            )
    finally:
        await _cancel([*batches, *workers])
        await resolver.close()
    # A failed read is never "nothing there": should a target ever go missing between queue
    # and plan (a lost failure, as once happened in a race), the run fails instead of omitting it.
    if missing := sorted(queued - planned.keys()):
        shown = ", ".join(f"{g}/{t}" for g, t in missing)
        raise PlanError(
            f"internal error: target(s) {shown} were read but not planned; nothing planned"
        )

    plan = assemble_plan(
        planned.values(),
        settings.environment,
        now,
        channels=resolver.channel_names,
        contract=contract,
    )
    if based is not None and baseline is not None:
        warnings = (*baseline.warnings(), *plan.warnings)
        plan = plan.model_copy(
            update={"base": based[0], "released": based[1], "warnings": warnings}
        )
    return plan


def _load_selected(
    settings: Settings, selection: Selection, contract: Contract, baseline: Baseline | None = None
) -> list[list[LoadedDocument]]:
    """Every manifest file's selected documents, one list per file, once all of them passed
    validation (issue 10: bad input sends nothing, so this runs before the first request).
    With a ``baseline``, every document is compared with the git base's, and only those the
    baseline wants (with --changed-since, the changed ones) are kept."""
    loader = ManifestLoader(
        list(selection.paths or settings.manifests),
        variables=settings.env.vars,
        root=settings.root,
        ignore=settings.env.ignore,
    )
    selectors = parse_selectors(selection.selectors)
    files: list[list[LoadedDocument]] = []
    everything: list[LoadedDocument] = []
    in_use: list[tuple[str, dict[str, str]]] = []  # what a selector that matched nothing missed
    for loaded in loader:
        if baseline is not None:
            everything.extend(loaded)
        if selectors:
            in_use += [(d.model.metadata.name, dict(d.model.metadata.labels)) for d in loaded]
        files.append(
            [
                doc
                for doc in loaded
                if selected(doc.model.metadata.name, dict(doc.model.metadata.labels), selectors)
            ]
        )
    problems = loader.finish()
    if contract.match == "type":
        problems += types_declared_twice(doc for documents in files for doc in documents)
    if problems:
        raise ValidationFailed(problems)
    if selectors and not any(files):
        raise UsageError(no_match(selection.selectors, in_use))
    if baseline is not None:
        baseline.compare(everything)
        files = [[doc for doc in documents if baseline.wants(doc)] for documents in files]
    return files


def _lint(
    settings: Settings, files: list[list[LoadedDocument]], warnings: list[Located] | None
) -> None:
    found = lint_entries((d for f in files for d in f), LintOptions.of(settings.env))
    errors = [d for _, d in found if d.is_error]
    if errors:
        raise ValidationFailed(errors)
    if warnings is not None:
        warnings.extend(found)


def _in_shard(ref: tuple[int, int], shard: tuple[int, int] | None) -> bool:
    """Whether the target is in the run's shard ``(k, n)`` (every target is without one)."""
    return shard is None or shard_of(*ref, shard[1]) == shard[0]


class _Failures:
    """The pipeline's tasks, and the first of them to fail: the cause. Later failures are
    usually its echoes (a request refused as "not sent" after a 403, say) and are not shown.

    A failure is recorded inside the failing task, in the step that raises it, so a task that
    is done has always had its failure recorded. A done callback would run a step later, after
    a waiter woken by another task's end may already have seen this one done too: the run then
    ended as if nothing had failed, without that task's target (issue 10 case 3).
    """

    def __init__(self) -> None:
        self.first: BaseException | None = None

    def watch(self, coroutine: Coroutine[object, object, None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(self._recorded(coroutine))
        # A task cancelled before its first step never awaited ``coroutine``: close it, or
        # Python warns "never awaited" on stderr. (Closing a finished coroutine does nothing.)
        task.add_done_callback(lambda _: coroutine.close())
        return task

    async def _recorded(self, coroutine: Coroutine[object, object, None]) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:  # cancelled by the run: no failure of its own
            raise
        except BaseException as exc:
            if self.first is None:
                self.first = exc
            raise

    async def wait(
        self, tasks: Sequence[asyncio.Future[None]], *, also: Sequence[asyncio.Future[None]] = ()
    ) -> None:
        """Until every task in ``tasks`` is done, or any task of either list fails; then the
        first failure is raised. Tasks of ``also`` that end without failing are ignored."""
        pending = set(tasks)
        while pending and self.first is None:
            done, _ = await asyncio.wait([*pending, *also], return_when=asyncio.FIRST_COMPLETED)
            pending -= done
        if self.first is not None:
            raise self.first


async def _cancel(tasks: Sequence[asyncio.Future[None]]) -> None:
    """Cancel what is still running and collect every outcome, so none is reported later as
    "never retrieved"."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
