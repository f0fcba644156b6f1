"""What export writes (SPEC §5 ``export``): from live state, one manifest per target whose next
plan shows no change. Reads the API; writes nothing (``files`` does).

A target whose content YAML cannot hold fails alone, and every other target is exported (issue
14). Names from the API are data: a name is written as one scalar that reads back exactly, in
the header comment with backslash escapes, and in file names only as a slug with the id.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.api.wire import Channel, Communication, Target, TargetGroup
from reconciler.errors import ExportError
from reconciler.export.exact import carriable, comment_text, escape, render
from reconciler.export.files import ExportedFile, write_files
from reconciler.live import Reader
from reconciler.manifests.schema import API_VERSION, KIND
from reconciler.manifests.writer import NameRef
from reconciler.planner import pick_match, unmanaged_reason
from reconciler.resolve import Index, Named, find

# ``build_export``'s callers also write what it builds; both are the package's public API.
__all__ = ["ExportedFile", "build_export", "choose", "write_files"]

TYPE_ORDER = {"START": 0, "FINISH": 1, "CHANGE": 2, "REMINDER": 3}
# Longest file or directory name export writes (well under every file system's 255 bytes).
MAX_FILE_PART = 100
MAX_METADATA_NAME = 200  # the schema's limit on metadata.name

Pair = tuple[TargetGroup, Target]


def slug(text: str) -> str:
    """A file-system-safe, lowercase name: ASCII letters, digits and dashes, at most 60 long.

    Nothing else survives, so a name from the API can never carry a path separator, ``..``,
    a control character or a leading dot into a file name.
    """
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:60].strip("-") or "unnamed"


def file_part(name: str, id_: int) -> str:
    """``slug-id``: the id makes it unique among its siblings (and never a reserved device
    name such as ``con``); an id too long for a file name is shortened to a hash of itself."""
    number = str(id_)
    if len(number) > MAX_FILE_PART - 30:
        number = "h" + hashlib.sha256(number.encode()).hexdigest()[:24]
    return f"{slug(name)}-{number}"


def choose(
    live: Sequence[Communication], include_inactive: bool
) -> tuple[list[Communication], list[str], bool]:
    """One communication per key, the one the planner matches (``planner.pick_match``);
    warnings for the other active ones, and whether there were any."""
    by_key: dict[tuple[str, int], list[Communication]] = {}
    for comm in live:
        by_key.setdefault((comm.communicationType, comm.channelId), []).append(comm)
    chosen: list[Communication] = []
    warnings: list[str] = []
    duplicates = False
    for key, group in sorted(by_key.items(), key=lambda kv: (TYPE_ORDER.get(kv[0][0], 9), kv[0])):
        match, others = pick_match(group)
        if match is None or not (match.active or include_inactive):
            continue  # an inactive match means the key has no active row
        if others:
            duplicates = True
            ids = ", ".join(str(i) for i in sorted(c.id for c in others))
            warnings.append(
                f"live duplicates of {key[0]} on channelId {key[1]}: exported id {match.id}; "
                f"the first plan deactivates ids {ids} "
                "(a declared key keeps exactly one active communication)"
            )
        chosen.append(match)
    return chosen, warnings, duplicates


async def build_export(
    client: Reader,
    *,
    groups: Sequence[int | str],
    all_groups: bool,
    out_dir: Path,
    by_name: bool,
    include_inactive: bool,
    root: Path,
    parallelism: int = 8,
) -> tuple[list[ExportedFile], list[str], list[str]]:
    """Read live state and produce the manifest files (nothing is written here).

    Returns the files, notes, and one error per target that cannot be written (its content
    cannot be held by YAML exactly); such a target never stops the others.
    """
    listed, channels = await asyncio.gather(client.list_target_groups(), client.list_channels())
    selected = _selected(listed, groups, all_groups)
    gate = asyncio.Semaphore(parallelism)

    async def targets_of(group: TargetGroup) -> list[Pair]:
        async with gate:
            return [(group, t) for t in await client.list_targets(group.id)]

    async def read(pair: Pair) -> list[Communication]:
        async with gate:
            return await client.get_communications(pair[0].id, pair[1].id)

    pairs = [p for chunk in await asyncio.gather(*(targets_of(g) for g in selected)) for p in chunk]
    lives = await asyncio.gather(*(read(p) for p in pairs))
    run = _Run(out_dir, root, by_name, include_inactive, channels, listed, pairs)
    done: set[tuple[int, int]] = set()
    for (group, target), live in sorted(
        zip(pairs, lives, strict=True), key=lambda item: (item[0][0].id, item[0][1].id)
    ):
        if (group.id, target.id) not in done:  # a target listed twice is exported once
            done.add((group.id, target.id))
            run.export(group, target, live)
    return run.files, run.notes, run.errors


def _selected(
    listed: Sequence[TargetGroup], refs: Sequence[int | str], all_groups: bool
) -> list[TargetGroup]:
    """The groups asked for, each once; ExportError naming every reference that fails."""
    index = Index(Named(g.id, g.name) for g in listed)
    selected = sorted(listed, key=lambda g: g.id) if all_groups else []
    problems = []
    for ref in refs:
        found, reason = find(ref, index, "target group")
        if found is None:
            problems.append(str(reason))
        else:
            selected.extend(g for g in listed if g.id == found.id and g not in selected)
    if problems:
        raise ExportError("; ".join(problems) + ". Nothing was written")
    return selected


# One pre-image: (group id, group name, target id, target name) and its rows as read.
PreImage = tuple[tuple[int, str, int, str], Sequence[Communication]]


def pre_image_files(
    images: Sequence[PreImage], channels: Sequence[Channel], out_dir: Path, root: Path
) -> tuple[list[ExportedFile], list[str]]:
    """Manifests of the rows an apply read before writing (``rollback --out``), written as
    export writes live state, so that a plan of them restores those rows; a target that had no
    active row gets a manifest with no communications (its prune deactivates what apply
    created). Returns the files and one error per target YAML cannot hold."""
    groups = [TargetGroup(id=g, name=gn) for (g, gn, _, _), _ in images]
    pairs = [(TargetGroup(id=g, name=gn), Target(id=t, name=tn)) for (g, gn, t, tn), _ in images]
    run = _Run(out_dir, root, False, False, channels, groups, pairs, keep_empty=True)
    for (group, target), (_, rows) in zip(pairs, images, strict=True):
        run.export(group, target, rows)
    return run.files, run.errors


@dataclass
class _Run:
    """One export: the names a reference may use, and the files, notes and errors so far."""

    out_dir: Path
    root: Path
    by_name: bool
    include_inactive: bool
    channel_list: Sequence[Channel]
    group_list: Sequence[TargetGroup]
    pairs: Sequence[Pair]
    files: list[ExportedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    used_names: set[str] = field(default_factory=set)
    keep_empty: bool = False  # a target with nothing active still gets a file (rollback)

    def __post_init__(self) -> None:
        self.channels = {c.id: c for c in self.channel_list}
        self.channel_ids = {c.id: c.name for c in self.channel_list}
        self.channel_names = _unique_names([Named(c.id, c.name) for c in self.channel_list])
        self.group_names = _unique_names([Named(g.id, g.name) for g in self.group_list])
        members: dict[int, list[Named]] = {}
        for g, t in self.pairs:
            members.setdefault(g.id, []).append(Named(t.id, t.name))
        self.target_names = {group: _unique_names(named) for group, named in members.items()}

    def export(self, group: TargetGroup, target: Target, live: Sequence[Communication]) -> None:
        """The target's file, or a note (nothing active) or an error (YAML cannot hold it)."""
        # A row no manifest could declare (unknown type or channel) is not exported: the file
        # would not validate, and plan leaves such rows alone anyway (issue 14 item 8).
        managed = [c for c in live if unmanaged_reason(c, self.channel_ids) is None]
        chosen, warnings, duplicates = choose(managed, self.include_inactive)
        warnings += [
            f"id {c.id} not exported: not managed: {unmanaged_reason(c, self.channel_ids)}"
            for c in live
            if c.active and unmanaged_reason(c, self.channel_ids) is not None
        ]
        label = f"target {target.id} ({target.name}) of group {group.id} ({group.name})"
        if not chosen and not self.keep_empty:
            self.notes.append(f"{label}: no active communications; not exported")
            return
        document = self._document(group, target, chosen, prune=not duplicates)
        path = (
            self.out_dir
            / file_part(group.name, group.id)
            / f"{file_part(target.name, target.id)}.yaml"
        )
        try:
            text = render(document, _header(path, self.root, label))
        except ExportError as exc:
            self.errors.append(f"{label}: {exc.message}; not exported")
            return
        self.files.append(
            ExportedFile(path, text, warnings, (group.id, target.id), (group.name, target.name))
        )

    def _document(
        self, group: TargetGroup, target: Target, chosen: Sequence[Communication], prune: bool
    ) -> dict[str, object]:
        base = f"{slug(group.name)}-{slug(target.name)}"
        target_names = self.target_names[group.id]
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": _unique_name(base, target.id, self.used_names)},
            "target": {
                "targetGroup": _ref(group.id, group.name, self.group_names, self.by_name),
                "target": _ref(target.id, target.name, target_names, self.by_name),
            },
            "prune": prune,
            "communications": [
                _entry(c, self._channel_ref(c.channelId), self.by_name) for c in chosen
            ],
        }

    def _channel_ref(self, channel_id: int) -> int | str:
        channel = self.channels.get(channel_id)
        if channel is None:
            return channel_id
        return _ref(channel_id, channel.name, self.channel_names, self.by_name)


def _entry(comm: Communication, channel_ref: int | str, by_name: bool) -> dict[str, object]:
    entry: dict[str, object] = {"communicationType": comm.communicationType}
    entry["channel" if by_name else "channelId"] = channel_ref
    entry["sender"] = escape(comm.sender)
    entry["subjectTemplate"] = escape(comm.subjectTemplate)
    entry["messageTemplate"] = escape(comm.messageTemplate)
    if comm.offsetDays:
        entry["offsetDays"] = comm.offsetDays
    if not comm.active:
        entry["active"] = False
    return entry


def _unique_name(base: str, id_: int, used: set[str]) -> str:
    """``base``, or ``base-ID``, ``base-ID-2``…: a metadata.name no earlier target took, within
    the schema's length limit."""
    base = base[: MAX_METADATA_NAME - 40]
    name, suffix = base, 1
    while name in used:
        number = (
            str(id_) if len(str(id_)) <= 24 else hashlib.sha256(str(id_).encode()).hexdigest()[:24]
        )
        name = f"{base}-{number}" + (f"-{suffix}" if suffix > 1 else "")
        suffix += 1
    used.add(name)
    return name


def _unique_names(objects: Sequence[Named]) -> set[str]:
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj.name] = counts.get(obj.name, 0) + 1
    return {name for name, n in counts.items() if n == 1 and name}


def _ref(id_: int, name: str, unique: set[str], by_name: bool) -> int | str:
    """The name (``${`` escaped, so that it reads back as itself), or the id when the name is
    shared by two objects (it would not resolve) or YAML cannot hold it exactly."""
    if by_name and name in unique and carriable(name):
        return NameRef(escape(name))
    return id_


def _header(path: Path, root: Path, label: str) -> str:
    schema = root / "schema" / "manifest.schema.json"
    relative = os.path.relpath(schema, path.parent.resolve()) if path.is_absolute() else None
    if relative is None:
        relative = os.path.relpath(schema, (Path.cwd() / path.parent).resolve())
    return (
        f"# yaml-language-server: $schema={comment_text(relative)}\n"
        f"# Exported by `reconciler export` from {comment_text(label)}.\n"
    )
