"""Names to ids: target groups, targets and channels referenced by manifests (SPEC §3, §4).

One read of the group list, one of the channels, one target list per referenced group; every
reference that matches nothing or several objects becomes a diagnostic at its manifest position.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from reconciler.api.wire import Channel, Target, TargetGroup
from reconciler.desired import DesiredCommunication, DesiredTarget
from reconciler.diagnostics import Diagnostic
from reconciler.errors import ValidationFailed
from reconciler.ignore import ignored_fields
from reconciler.manifests import LoadedDocument
from reconciler.manifests.rules import duplicate_communication, duplicate_target

T = TypeVar("T")


class Directory(Protocol):
    """The reads resolution needs; ``api.endpoints.CapillaryClient`` provides them."""

    async def list_target_groups(self) -> list[TargetGroup]: ...

    async def list_targets(self, group_id: int) -> list[Target]: ...

    async def list_channels(self) -> list[Channel]: ...


async def all_or_nothing(*awaitables: Awaitable[T]) -> list[T]:
    """Every result, in order; on the first failure the others are cancelled (so that no
    request is sent after the run has failed) and that failure is raised."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    # Every failure is retrieved, not only the first: asyncio would otherwise print each other
    # one, traceback and all, to stderr when the task is collected ("never retrieved").
    failures = [task.exception() for task in tasks if not task.cancelled()]
    for failure in failures:
        if failure is not None:
            raise failure
    return [task.result() for task in tasks]


@dataclass(frozen=True)
class Named:
    id: int
    name: str


class Index:
    """Objects of one kind, found by id or exact name in constant time."""

    def __init__(self, objects: Iterable[Named]) -> None:
        self.objects = list(objects)
        self.by_id: dict[int, Named] = {}
        self.by_name: dict[str, list[Named]] = {}
        for obj in self.objects:
            self.by_id.setdefault(obj.id, obj)
            self.by_name.setdefault(obj.name, []).append(obj)


def find(
    ref: int | str, index: Index, what: str, scope: str = ""
) -> tuple[Named | None, str | None]:
    """Find ``ref`` (an id or an exact name) in ``index``; a reason when it fails."""
    where = f" in {scope}" if scope else ""
    if isinstance(ref, int):
        found = index.by_id.get(ref)
        return (found, None) if found else (None, f"{what} {ref} does not exist{where}")
    matches = index.by_name.get(ref, [])
    if len(matches) == 1:
        return matches[0], None
    if matches:
        ids = ", ".join(str(m.id) for m in sorted(matches, key=lambda m: m.id))
        return (
            None,
            f"{what} name {ref!r} matches {len(matches)} objects{where} (ids {ids}); use the id",
        )
    message = f"{what} {ref!r} does not exist{where}"
    names = [o.name for o in index.objects]
    close = difflib.get_close_matches(ref, names, n=1, cutoff=0.6)
    if not close:
        close = [name for name in names if name.lower() == ref.lower()]
    if close:
        message += f"; did you mean {close[0]!r}?"
    return None, message


@dataclass(frozen=True, slots=True)
class _Declaration:
    """Which document declared a resolved target, and where (for duplicate reports)."""

    order: int  # load order: the first declaration is kept, the others are reported
    written: tuple[int | str, int | str]  # the group and target references as written
    name: str
    path: str
    line: int
    column: int


class Resolver:
    """Resolves documents as they are loaded, a batch (one file) at a time.

    The group and channel lists are read once, on the first batch; each group's target list
    once, when a batch first names the group. Batches may resolve concurrently and in any
    order: every problem is kept and ``check`` reports them all, sorted, at the end.
    """

    def __init__(
        self,
        directory: Directory,
        *,
        group_filter: int | str | None = None,
        ignore: Sequence[str] = (),
    ) -> None:
        self._directory = directory
        self._ignore = tuple(ignore)
        self._group_filter = group_filter
        self._lists: asyncio.Task[tuple[Index, Index]] | None = None
        self._targets: dict[int, asyncio.Task[Index]] = {}
        self._declared: dict[tuple[int, int], list[_Declaration]] = {}
        self._filter_problem: Diagnostic | None = None
        self._order = 0
        self.problems: list[Diagnostic] = []
        self.channel_names: dict[int, str] = {}

    def start(self) -> None:
        """Ask for the group and channel lists now (called before the manifests are loaded)."""
        if self._lists is None:
            self._lists = asyncio.ensure_future(self._read_lists())

    async def close(self) -> None:
        """Stop the reads still running (a failed run) and collect their outcomes."""
        tasks = [task for task in (self._lists, *self._targets.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read_lists(self) -> tuple[Index, Index]:
        groups_read = asyncio.ensure_future(self._directory.list_target_groups())
        channels_read = asyncio.ensure_future(self._directory.list_channels())
        await all_or_nothing(groups_read, channels_read)
        groups_raw, channels_raw = groups_read.result(), channels_read.result()
        self.channel_names = {c.id: c.name for c in channels_raw}
        return Index(Named(g.id, g.name) for g in groups_raw), Index(
            Named(c.id, c.name) for c in channels_raw
        )

    async def _read_targets(self, group_id: int) -> Index:
        return Index(Named(t.id, t.name) for t in await self._directory.list_targets(group_id))

    def _targets_of(self, group_id: int) -> asyncio.Task[Index]:
        task = self._targets.get(group_id)
        if task is None:
            task = self._targets[group_id] = asyncio.ensure_future(self._read_targets(group_id))
        return task

    async def resolve(
        self, documents: Sequence[LoadedDocument], *, record: bool = True
    ) -> list[DesiredTarget]:
        """The desired targets of ``documents`` that resolve; the others' problems are kept.

        ``record=False`` resolves documents that are not the run's own (a git base's, issue
        18): they are neither declarations nor problems, and what does not resolve is left out.
        """
        problems = self.problems if record else []
        orders = range(self._order, self._order + len(documents))
        self._order += len(documents)
        self.start()
        assert self._lists is not None
        groups, channels = await self._lists
        wanted_id = self._wanted_group(groups)
        if self._filter_problem is not None:
            return []
        grouped: list[tuple[int, LoadedDocument, Named]] = []
        for order, doc in zip(orders, documents, strict=True):
            group, reason = find(doc.model.target.targetGroup, groups, "target group")
            if group is None:
                problems.append(doc.diagnostic(("target", "targetGroup"), str(reason)))
            elif wanted_id is None or group.id == wanted_id:
                grouped.append((order, doc, group))
        needed = sorted({group.id for _, _, group in grouped})
        # Shielded: the lists are shared with other batches, which a failure here must not
        # cancel under them (they would end in CancelledError, not in the real error).
        lists = await all_or_nothing(*(asyncio.shield(self._targets_of(g)) for g in needed))
        targets_by_group = dict(zip(needed, lists, strict=True))
        desired: list[DesiredTarget] = []
        for order, doc, group in grouped:
            target, reason = find(
                doc.model.target.target,
                targets_by_group[group.id],
                "target",
                f"target group {group.id} ({group.name})",
            )
            if target is None:
                problems.append(doc.diagnostic(("target", "target"), str(reason)))
                continue
            if record:
                self._declare((group.id, target.id), order, doc)
            communications = _communications(doc, channels, problems, self._ignore)
            if communications is None:
                continue
            desired.append(
                DesiredTarget(
                    name=doc.model.metadata.name,
                    targetGroupId=group.id,
                    targetId=target.id,
                    prune=doc.model.prune,
                    communications=communications,
                    source=doc.source(("target",)),
                    targetGroupName=group.name,
                    targetName=target.name,
                    labels=tuple(sorted(doc.model.metadata.labels.items())),
                )
            )
        return desired

    async def declare(self, documents: Sequence[LoadedDocument]) -> None:
        """Record the declarations of ``documents`` (the run's own, but not planned: unchanged
        since a git base, issue 18) in the groups whose target lists were read already, so
        ``check`` finds a target declared twice as a full run does. Sends no request; what
        does not resolve is left out (no problem of its own)."""
        if not documents or self._lists is None:
            return
        groups, _ = await self._lists
        read = {
            group_id: task.result()
            for group_id, task in self._targets.items()
            if task.done() and not task.cancelled() and task.exception() is None
        }
        orders = range(self._order, self._order + len(documents))
        self._order += len(documents)
        for order, doc in zip(orders, documents, strict=True):
            group, _ = find(doc.model.target.targetGroup, groups, "target group")
            if group is None or group.id not in read:
                continue
            target, _ = find(doc.model.target.target, read[group.id], "target")
            if target is not None:
                self._declare((group.id, target.id), order, doc)

    def _wanted_group(self, groups: Index) -> int | None:
        if self._group_filter is None:
            return None
        wanted, reason = find(self._group_filter, groups, "target group")
        if wanted is None:
            self._filter_problem = Diagnostic("--target-group", 0, 0, str(reason))
            return None
        return wanted.id

    def _declare(self, ref: tuple[int, int], order: int, doc: LoadedDocument) -> None:
        line, column = doc.position(("target",))
        written = (doc.model.target.targetGroup, doc.model.target.target)
        declaration = _Declaration(order, written, doc.model.metadata.name, doc.path, line, column)
        self._declared.setdefault(ref, []).append(declaration)

    def check(self) -> None:
        """Raise ValidationFailed listing every problem of every batch resolved so far."""
        if self._filter_problem is not None:
            raise ValidationFailed([self._filter_problem])
        problems = list(self.problems)
        for (group_id, target_id), declarations in self._declared.items():
            problems.extend(_declared_again(group_id, target_id, declarations))
        if problems:
            raise ValidationFailed(sorted(problems))


def _declared_again(
    group_id: int, target_id: int, declarations: Sequence[_Declaration]
) -> Iterator[Diagnostic]:
    """A problem for each later declaration of one target, except those written exactly as an
    earlier one: reading reports those (``manifests.checks``), with no network."""
    first, *others = sorted(declarations, key=lambda d: d.order)
    written = {first.written}
    for other in others:
        if other.written not in written:
            written.add(other.written)
            where = f"{first.path}:{first.line}:{first.column}"
            message = duplicate_target(group_id, target_id, first.name, where)
            yield Diagnostic(other.path, other.line, other.column, message)


def _communications(
    doc: LoadedDocument, channels: Index, problems: list[Diagnostic], ignore: Sequence[str] = ()
) -> tuple[DesiredCommunication, ...] | None:
    out: list[DesiredCommunication] = []
    rules = [r if isinstance(r, str) else r.model_dump() for r in doc.model.ignore]
    keys: dict[tuple[str, int], int] = {}
    failed = False
    for i, (entry, template) in enumerate(
        zip(doc.model.communications, doc.message_templates, strict=True)
    ):
        at = ("communications", i)
        ref: int | str = entry.channelId if entry.channelId is not None else str(entry.channel)
        field = "channelId" if entry.channelId is not None else "channel"
        channel, reason = find(ref, channels, "channel")
        if channel is None and "does not exist" in str(reason):
            shown = ", ".join(
                f"{c.name} ({c.id})" for c in sorted(channels.objects, key=lambda c: c.id)
            )
            reason = f"{reason}; the channels are {shown or 'none'}"
        if channel is None:
            problems.append(doc.diagnostic((*at, field), str(reason)))
            failed = True
            continue
        key = (entry.communicationType, channel.id)
        if key in keys:  # a name and an id of one channel; reading finds a ref written twice
            shown = f"{channel.name} (id {channel.id})"
            message = duplicate_communication(entry.communicationType, shown, keys[key])
            problems.append(doc.diagnostic(at, message))
            failed = True
            continue
        keys[key] = i
        out.append(
            DesiredCommunication(
                communicationType=entry.communicationType,
                channelId=channel.id,
                sender=entry.sender,
                subjectTemplate=entry.subjectTemplate,
                messageTemplate=template,
                offsetDays=entry.offsetDays,
                active=entry.active,
                source=doc.source(at),
                ignore=ignored_fields(ignore, rules, entry.model_dump())
                if ignore or rules or entry.ignore
                else (),
            )
        )
    return None if failed else tuple(out)
