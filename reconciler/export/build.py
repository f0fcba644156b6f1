"""Write manifests from live state (SPEC §5 ``export``) so that the next plan shows no change.

Never overwrites a file without ``force``; with it, updates manifests in place in ruamel.yaml's
round-trip mode so comments and key order survive. Writes nothing when a read fails; a target
whose content YAML cannot hold fails alone, and every other target is written (issue 14).

Names from the API are data: a name is written as one scalar that reads back exactly, in the
header comment with backslash escapes, and in file names only as a slug with the id.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.api.wire import Channel, Communication, TargetGroup
from reconciler.errors import ExportError
from reconciler.live import Reader
from reconciler.manifests.schema import API_VERSION, KIND
from reconciler.manifests.yamlstrict import _YAML11_AMBIGUOUS as _AMBIGUOUS
from reconciler.manifests.yamlstrict import YamlProblem, decode, read_documents, resolve_plain
from reconciler.planner import unmanaged_reason
from reconciler.resolve import Index, Named, _pick

TYPE_ORDER = {"START": 0, "FINISH": 1, "CHANGE": 2, "REMINDER": 3}
LONG_LINE = 80


@dataclass
class ExportedFile:
    path: Path
    text: str
    warnings: list[str] = field(default_factory=list)


# Longest file or directory name export writes (well under every file system's 255 bytes).
MAX_FILE_PART = 100
MAX_METADATA_NAME = 200  # the schema's limit on metadata.name


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


def comment_text(text: str) -> str:
    """``text`` as it can sit in a one-line YAML comment: a backslash and every character that
    is not printable (line breaks of any kind, controls, bidi overrides, ...) are written as
    backslash escapes, so the comment can neither end early nor hide what it says."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(ch if ch.isprintable() and ch != "\\" else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    named = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if ch in named:
        return named[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _choose(
    live: Sequence[Communication], include_inactive: bool
) -> tuple[list[Communication], list[str], bool]:
    """One communication per key, as the planner would match it; warnings for the others."""
    by_key: dict[tuple[str, int], list[Communication]] = {}
    for comm in live:
        by_key.setdefault((comm.communicationType, comm.channelId), []).append(comm)
    chosen: list[Communication] = []
    warnings: list[str] = []
    duplicates = False
    for key, group in sorted(by_key.items(), key=lambda kv: (TYPE_ORDER.get(kv[0][0], 9), kv[0])):
        active = [c for c in group if c.active]
        if active:
            pick = max(active, key=_recency)
            others = [c.id for c in active if c.id != pick.id]
            if others:
                duplicates = True
                warnings.append(
                    f"live duplicates of {key[0]} on channelId {key[1]}: exported id {pick.id}; "
                    f"the first plan deactivates ids {', '.join(map(str, sorted(others)))} "
                    "(a declared key keeps exactly one active communication)"
                )
            chosen.append(pick)
        elif include_inactive:
            chosen.append(max(group, key=_recency))
    return chosen, warnings, duplicates


def _recency(comm: Communication) -> tuple[float, int]:
    updated = comm.attribution.lastUpdatedOn if comm.attribution else None
    return (updated.timestamp() if updated else float("-inf"), comm.id)


def _entry(comm: Communication, channel_ref: int | str, by_name: bool) -> dict[str, object]:
    entry: dict[str, object] = {"communicationType": comm.communicationType}
    entry["channel" if by_name else "channelId"] = channel_ref
    entry["sender"] = _escape(comm.sender)
    entry["subjectTemplate"] = _escape(comm.subjectTemplate)
    entry["messageTemplate"] = _escape(comm.messageTemplate)
    if comm.offsetDays:
        entry["offsetDays"] = comm.offsetDays
    if not comm.active:
        entry["active"] = False
    return entry


def _escape(text: str) -> str:
    """Manifests interpolate ``${…}``; a live ``${`` must be written as ``$${``."""
    return text.replace("${", "$${")


def _dump(document: dict[str, object], header: str, quote_all: bool = False) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    def style(value: object) -> object:
        if isinstance(value, dict):
            return {k: style(v) for k, v in value.items()}
        if isinstance(value, list):
            return [style(v) for v in value]
        if isinstance(value, NameRef):
            # A name is one scalar on one line: plain when that is exact, else double-quoted,
            # whose escapes carry line breaks and controls; never a block.
            plain = value.isprintable() and not _needs_quotes(value) and not quote_all
            return str(value) if plain else DoubleQuotedScalarString(value)
        if isinstance(value, str):
            if not quote_all and _block_safe(value):
                return LiteralScalarString(value)
            if quote_all or _needs_quotes(value) or not _raw_safe(value):
                return DoubleQuotedScalarString(value)
            return value
        return value

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(style(document), stream)
    return header + stream.getvalue()


def _needs_quotes(text: str) -> bool:
    """Plain text that a YAML reader would take for something else, or that we would flag."""
    return resolve_plain(text) != text or bool(_AMBIGUOUS.match(text)) or text != text.strip()


def _raw_safe(text: str) -> bool:
    """No character a reader could take for a line break or a control (CR, NEL, U+2028, ...):
    those are written as double-quoted escapes, never raw (tab and newline are fine)."""
    return text.isprintable() or all(ch in "\n\t" or ch.isprintable() for ch in text)


def _block_safe(text: str) -> bool:
    """Multi-line or long text reads best as a literal block, when YAML can keep it exact."""
    if "\n" not in text and len(text) <= LONG_LINE:
        return False
    if not text.strip() or text[0] in " \t\n" or "\r" in text or "\t" in text:
        return False
    if any(line != line.rstrip(" ") for line in text.split("\n")):
        return False
    return all(ch == "\n" or ch.isprintable() for ch in text)


class NameRef(str):
    """A group, target or channel name written as a reference (``--by-name``)."""

    __slots__ = ()


def _render(document: dict[str, object], header: str) -> str:
    """Dump, then prove by reading back that every value survived; else quote everything.

    Raises ExportError, naming the field, when even double quotes cannot carry a value (a
    lone surrogate from a broken server has no UTF-8 form).
    """
    text = _dump(document, header)
    if _roundtrips(text, document):
        return text
    text = _dump(document, header, quote_all=True)
    if not _roundtrips(text, document):
        raise ExportError(_unwritable(document))
    return text


def _roundtrips(text: str, document: dict[str, object]) -> bool:
    """``text`` reads back as ``document``, through the checks the loader makes on a file."""
    try:
        docs = read_documents(decode(text.encode("utf-8")))
    except (YamlProblem, UnicodeError):
        return False
    except Exception:  # pragma: no cover - the reader reports problems as YamlProblem
        return False
    return len(docs) == 1 and docs[0].value == document and not docs[0].ambiguous


def carriable(text: str) -> bool:
    """Whether a YAML manifest can hold ``text`` exactly (as a double-quoted scalar)."""
    if text.isprintable():
        return True
    return _roundtrips(_dump({"v": NameRef(text)}, "", quote_all=True), {"v": text})


def _unwritable(value: object, at: str = "") -> str:
    """Which value YAML cannot carry, and the character that stops it."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unwritable(item, f"{at}.{key}" if at else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unwritable(item, f"{at}[{index}]")
            if found:
                return found
    elif isinstance(value, str) and not carriable(value):
        bad = next((ch for ch in value if not carriable(ch)), value[0] if value else "")
        return (
            f"{at} contains U+{ord(bad):04X}, which a YAML manifest cannot hold exactly"
            if bad
            else f"{at} cannot be written exactly"
        )
    return "" if at else "the manifest does not read back exactly"


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
    all_listed, channels_raw = await asyncio.gather(
        client.list_target_groups(), client.list_channels()
    )
    named = [Named(g.id, g.name) for g in all_listed]
    selected: list[TargetGroup] = []
    problems = []
    if all_groups:
        selected = sorted(all_listed, key=lambda g: g.id)
    for ref in groups:
        found, reason = _pick(ref, Index(named), "target group")
        if found is None:
            problems.append(str(reason))
        else:
            selected.extend(g for g in all_listed if g.id == found.id and g not in selected)
    if problems:
        raise ExportError("; ".join(problems) + ". Nothing was written")
    channels = {c.id: c for c in channels_raw}
    channel_names = _unique_names([Named(c.id, c.name) for c in channels_raw])
    channel_ids = {c.id: c.name for c in channels_raw}
    group_names = _unique_names(named)
    gate = asyncio.Semaphore(parallelism)

    async def targets_of(group: TargetGroup) -> list[tuple[TargetGroup, Any]]:
        async with gate:
            return [(group, t) for t in await client.list_targets(group.id)]

    pairs = [p for chunk in await asyncio.gather(*(targets_of(g) for g in selected)) for p in chunk]

    async def read(pair: tuple[TargetGroup, Any]) -> list[Communication]:
        async with gate:
            return await client.get_communications(pair[0].id, pair[1].id)

    lives = await asyncio.gather(*(read(p) for p in pairs))
    files: list[ExportedFile] = []
    notes: list[str] = []
    errors: list[str] = []
    used_names: set[str] = set()
    members: dict[int, list[Named]] = {}
    for g, t in pairs:
        members.setdefault(g.id, []).append(Named(t.id, t.name))
    unique_targets = {group_id: _unique_names(named) for group_id, named in members.items()}
    done: set[tuple[int, int]] = set()
    for (group, target), live in sorted(
        zip(pairs, lives, strict=True), key=lambda item: (item[0][0].id, item[0][1].id)
    ):
        if (group.id, target.id) in done:  # a target listed twice is exported once
            continue
        done.add((group.id, target.id))
        # A row no manifest could declare (unknown type or channel) is not exported: the file
        # would not validate, and plan leaves such rows alone anyway (issue 14 item 8).
        managed = [c for c in live if unmanaged_reason(c, channel_ids) is None]
        chosen, warnings, duplicates = _choose(managed, include_inactive)
        warnings += [
            f"id {c.id} not exported: not managed: {unmanaged_reason(c, channel_ids)}"
            for c in live
            if c.active and unmanaged_reason(c, channel_ids) is not None
        ]
        label = f"target {target.id} ({target.name}) of group {group.id} ({group.name})"
        if not chosen:
            notes.append(f"{label}: no active communications; not exported")
            continue
        target_names = unique_targets[group.id]
        name = _unique_name(f"{slug(group.name)}-{slug(target.name)}", target.id, used_names)
        document: dict[str, object] = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": name},
            "target": {
                "targetGroup": _ref(group.id, group.name, group_names, by_name),
                "target": _ref(target.id, target.name, target_names, by_name),
            },
            "prune": not duplicates,
            "communications": [
                _entry(c, _channel_ref(c.channelId, channels, channel_names, by_name), by_name)
                for c in chosen
            ],
        }
        path = (
            out_dir / file_part(group.name, group.id) / f"{file_part(target.name, target.id)}.yaml"
        )
        try:
            text = _render(document, _header(path, root, label))
        except ExportError as exc:
            errors.append(f"{label}: {exc.message}; not exported")
            continue
        files.append(ExportedFile(path, text, warnings))
    return files, notes, errors


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
        return NameRef(_escape(name))
    return id_


def _channel_ref(
    channel_id: int, channels: dict[int, Channel], unique: set[str], by_name: bool
) -> int | str:
    channel = channels.get(channel_id)
    if channel is None:
        return channel_id
    return _ref(channel_id, channel.name, unique, by_name)


def _header(path: Path, root: Path, label: str) -> str:
    schema = root / "schema" / "manifest.schema.json"
    relative = os.path.relpath(schema, path.parent.resolve()) if path.is_absolute() else None
    if relative is None:
        relative = os.path.relpath(schema, (Path.cwd() / path.parent).resolve())
    return (
        f"# yaml-language-server: $schema={comment_text(relative)}\n"
        f"# Exported by `reconciler export` from {comment_text(label)}.\n"
    )


def write_files(
    files: Sequence[ExportedFile], *, force: bool, variables: Mapping[str, str] | None = None
) -> list[Path]:
    """Write every file, or none: existing files are refused up front unless ``force``."""
    existing = [f.path for f in files if f.path.exists()]
    if existing and not force:
        shown = ", ".join(str(p) for p in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise ExportError(
            f"{len(existing)} file(s) already exist ({shown}{more}); "
            "pass --force to update them in place. Nothing was written"
        )
    written = []
    for file in files:
        file.path.parent.mkdir(parents=True, exist_ok=True)
        if file.path.exists():
            from reconciler.export.merge import merge_into

            base = file.path.parent
            text = merge_into(file.path.read_text(encoding="utf-8"), file.text, variables, base)
            if not _plain_text(text) or not _same_content(text, file.text, variables or {}, base):
                text = file.text  # never trade exactness (or plain text) for comments
        else:
            text = file.text
        file.path.write_text(text, encoding="utf-8")
        written.append(file.path)
    return written


def _plain_text(text: str) -> bool:
    """Text the loader accepts as a file, with no line break other than LF: no raw CR, NEL,
    U+2028 or U+2029 that one reader splits a line at and another does not."""
    try:
        decode(text.encode("utf-8"))
    except (YamlProblem, UnicodeError):
        return False
    return not any(ch in text for ch in "\r\x85\u2028\u2029")


def _same_content(
    merged: str, exported: str, variables: Mapping[str, str], base_dir: Path | None = None
) -> bool:
    """Everything but ``metadata`` (which the user may have renamed or labelled) reads the same
    once ``${…}`` is interpolated and template files are read, as the planner will read it."""
    try:
        a, b = read_documents(merged), read_documents(exported)
    except Exception:
        return False
    if len(a) != 1 or not isinstance(a[0].value, dict) or a[0].ambiguous:
        return False
    _inline_template_files(a[0].value, base_dir)
    mine, theirs = _interpolated(a[0].value, variables), _interpolated(b[0].value, variables)
    assert isinstance(mine, dict)
    assert isinstance(theirs, dict)
    return {k: v for k, v in mine.items() if k != "metadata"} == {
        k: v for k, v in theirs.items() if k != "metadata"
    }


def _inline_template_files(document: dict[str, object], base_dir: Path | None) -> None:
    """Replace each readable ``messageTemplateFile`` with the ``messageTemplate`` it stands for
    (template files are used verbatim, with no ``${…}``: SPEC §3)."""
    from reconciler.export.merge import template_file_text

    entries = document.get("communications")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and "messageTemplateFile" in entry:
            text = template_file_text(entry["messageTemplateFile"], base_dir)
            if text is not None:
                del entry["messageTemplateFile"]
                entry["messageTemplate"] = text.replace("${", "$${")  # verbatim once interpolated


def _interpolated(value: object, variables: Mapping[str, str]) -> object:
    from reconciler.manifests.interpolate import interpolate

    if isinstance(value, str):
        return interpolate(value, variables)[0]
    if isinstance(value, dict):
        return {k: _interpolated(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolated(v, variables) for v in value]
    return value
