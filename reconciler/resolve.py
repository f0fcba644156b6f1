"""Names to ids: target groups, targets and channels referenced by manifests (SPEC §3, §4).

One read of the group list, one of the channels, one target list per referenced group; every
reference that matches nothing or several objects becomes a diagnostic at its manifest position.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reconciler.api.wire import Channel, Target, TargetGroup
from reconciler.desired import DesiredCommunication, DesiredTarget
from reconciler.diagnostics import Diagnostic
from reconciler.errors import ValidationFailed
from reconciler.manifests.load import LoadedDocument


class Directory(Protocol):
    """The reads resolution needs; ``api.client.CapillaryClient`` provides them."""

    async def list_target_groups(self) -> list[TargetGroup]: ...

    async def list_targets(self, group_id: int) -> list[Target]: ...

    async def list_channels(self) -> list[Channel]: ...


@dataclass(frozen=True)
class Named:
    id: int
    name: str


def _pick(
    ref: int | str, objects: Sequence[Named], what: str, scope: str = ""
) -> tuple[Named | None, str | None]:
    """Find ``ref`` (an id or an exact name) among ``objects``; a reason when it fails."""
    where = f" in {scope}" if scope else ""
    if isinstance(ref, int):
        for obj in objects:
            if obj.id == ref:
                return obj, None
        return None, f"{what} {ref} does not exist{where}"
    matches = [obj for obj in objects if obj.name == ref]
    if len(matches) == 1:
        return matches[0], None
    if matches:
        ids = ", ".join(str(m.id) for m in sorted(matches, key=lambda m: m.id))
        return (
            None,
            f"{what} name {ref!r} matches {len(matches)} objects{where} (ids {ids}); use the id",
        )
    message = f"{what} {ref!r} does not exist{where}"
    close = difflib.get_close_matches(ref, [o.name for o in objects], n=1, cutoff=0.6)
    if not close:
        close = [o.name for o in objects if o.name.lower() == ref.lower()]
    if close:
        message += f"; did you mean {close[0]!r}?"
    return None, message


async def resolve(
    documents: Sequence[LoadedDocument],
    directory: Directory,
    *,
    parallelism: int = 8,
    group_filter: int | str | None = None,
) -> tuple[list[DesiredTarget], dict[int, str]]:
    """Resolve every reference of ``documents``; raise ValidationFailed listing all failures.

    ``group_filter`` (``--target-group``) keeps only documents of that group, by id or name.
    Returns the desired targets and the channel names by id (for messages and renderings).
    """
    groups_raw, channels_raw = await asyncio.gather(
        directory.list_target_groups(), directory.list_channels()
    )
    groups = [Named(g.id, g.name) for g in groups_raw]
    channels = [Named(c.id, c.name) for c in channels_raw]
    problems: list[Diagnostic] = []
    wanted_id: int | None = None
    if group_filter is not None:
        wanted, reason = _pick(group_filter, groups, "target group")
        if wanted is None:
            raise ValidationFailed([Diagnostic("--target-group", 0, 0, str(reason))])
        wanted_id = wanted.id
    group_of: dict[int, Named] = {}
    for index, doc in enumerate(documents):
        group, reason = _pick(doc.model.target.targetGroup, groups, "target group")
        if group is None:
            problems.append(doc.diagnostic(("target", "targetGroup"), str(reason)))
        else:
            group_of[index] = group
    if wanted_id is not None:
        keep = {i for i, g in group_of.items() if g.id == wanted_id}
        documents = [d for i, d in enumerate(documents) if i in keep]
        group_of = {new: group_of[old] for new, old in enumerate(sorted(keep))}
    needed = sorted({g.id for g in group_of.values()})
    targets_by_group = dict(
        zip(needed, await _targets(directory, needed, parallelism), strict=True)
    )
    desired: list[DesiredTarget] = []
    seen_targets: dict[tuple[int, int], LoadedDocument] = {}
    for index, doc in enumerate(documents):
        group = group_of.get(index)
        if group is None:
            continue
        target, reason = _pick(
            doc.model.target.target,
            [Named(t.id, t.name) for t in targets_by_group[group.id]],
            "target",
            f"target group {group.id} ({group.name})",
        )
        if target is None:
            problems.append(doc.diagnostic(("target", "target"), str(reason)))
            continue
        ref = (group.id, target.id)
        if ref in seen_targets:
            first = seen_targets[ref]
            problems.append(
                doc.diagnostic(
                    ("target",),
                    f"target {target.id} of group {group.id} is already declared by "
                    f"'{first.model.metadata.name}' at {first.where(('target',))}",
                )
            )
            continue
        seen_targets[ref] = doc
        communications = _communications(doc, channels, problems)
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
    if problems:
        raise ValidationFailed(sorted(problems))
    return desired, {c.id: c.name for c in channels}


async def _targets(
    directory: Directory, group_ids: list[int], parallelism: int
) -> list[list[Target]]:
    gate = asyncio.Semaphore(parallelism)

    async def one(group_id: int) -> list[Target]:
        async with gate:
            return await directory.list_targets(group_id)

    return list(await asyncio.gather(*(one(g) for g in group_ids)))


def _communications(
    doc: LoadedDocument, channels: Sequence[Named], problems: list[Diagnostic]
) -> tuple[DesiredCommunication, ...] | None:
    out: list[DesiredCommunication] = []
    keys: dict[tuple[str, int], int] = {}
    failed = False
    for i, (entry, template) in enumerate(
        zip(doc.model.communications, doc.message_templates, strict=True)
    ):
        at = ("communications", i)
        ref: int | str = entry.channelId if entry.channelId is not None else str(entry.channel)
        field = "channelId" if entry.channelId is not None else "channel"
        channel, reason = _pick(ref, channels, "channel")
        if channel is None:
            problems.append(doc.diagnostic((*at, field), str(reason)))
            failed = True
            continue
        key = (entry.communicationType, channel.id)
        if key in keys:
            problems.append(
                doc.diagnostic(
                    at,
                    f"duplicate communication {entry.communicationType} on channel "
                    f"{channel.name} (id {channel.id}), also entry {keys[key] + 1} of this target",
                )
            )
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
            )
        )
    return None if failed else tuple(out)
