"""Update an existing manifest in place from a freshly exported one (``export --force``).

Uses ruamel.yaml's round-trip mode so comments and key order of entries that still exist survive.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import ExportError
from reconciler.manifests.interpolate import interpolate as _interpolate


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    return _interpolate(text, variables)[0]


def _key(entry: Any) -> tuple[object, object]:
    channel = entry.get("channel", entry.get("channelId"))
    return (entry.get("communicationType"), channel)


def _same_value(old: object, new: object, variables: Mapping[str, str]) -> bool:
    """Equal once ``${…}`` is interpolated: ``sender: ${sender}`` survives an export."""
    if isinstance(old, str) and isinstance(new, str):
        return interpolate(old, variables) == interpolate(new, variables)
    return old == new


def template_file_text(name: object, base_dir: Path | None) -> str | None:
    """The content of a ``messageTemplateFile`` as the loader reads it, or None (also for a
    file the loader would refuse: in a git directory, not a regular text file, too large)."""
    if not isinstance(name, str) or base_dir is None or "\0" in name:
        return None
    from reconciler.manifests.templates import TemplateProblem, is_git_name, read_text_file

    path = base_dir / name
    try:
        if any(is_git_name(part) for part in (*Path(name).parts, *path.resolve().parts)):
            return None
        return read_text_file(path)
    except (TemplateProblem, OSError, RuntimeError):
        return None


def merge_into(
    existing: str,
    exported: str,
    variables: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> str:
    """``existing`` with its target, prune and communications made to equal ``exported``'s.

    A value that already means the same (e.g. ``${sender}`` for the live sender) is kept as
    written, and so is a ``messageTemplateFile`` (relative to ``base_dir``) whose content is
    still the live template.
    """
    variables = variables or {}
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        old = yaml.load(existing)
    except Exception as exc:
        raise ExportError(
            f"cannot update in place: the existing file is not valid YAML ({exc})"
        ) from None
    new = yaml.load(exported)
    if not hasattr(old, "get") or not hasattr(old.get("communications"), "append"):
        raise ExportError("cannot update in place: the existing file is not a manifest document")
    for field in ("apiVersion", "kind", "target", "prune"):
        if old.get(field) != new[field]:
            old[field] = new[field]
    current = {_key(e): e for e in old["communications"]}
    wanted = {_key(e): e for e in new["communications"]}
    for index in reversed(range(len(old["communications"]))):
        if _key(old["communications"][index]) not in wanted:
            del old["communications"][index]
    for key, entry in wanted.items():
        target = current.get(key)
        if target is None:
            old["communications"].append(entry)
            continue
        keep_file = template_file_text(target.get("messageTemplateFile"), base_dir) == entry.get(
            "messageTemplate"
        )
        for field in list(target):
            if field not in entry and not (keep_file and field == "messageTemplateFile"):
                del target[field]
        for field, value in entry.items():
            if keep_file and field == "messageTemplate":
                continue
            if field not in target or not _same_value(target[field], value, variables):
                target[field] = value
    _quote_unsafe(old)
    stream = io.StringIO()
    yaml.dump(old, stream)
    return stream.getvalue()


def _quote_unsafe(node: Any) -> None:
    """Double-quote every string holding a character a reader could take for a line break or
    a control (CR, NEL, U+2028, ...): its escapes keep the file plain, one value per line."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    from reconciler.export.build import _raw_safe

    items = list(node.items()) if hasattr(node, "items") else None
    if items is None and isinstance(node, list):
        items = list(enumerate(node))
    for key, value in items or []:
        if isinstance(value, str):
            if not _raw_safe(value) and not isinstance(value, DoubleQuotedScalarString):
                node[key] = DoubleQuotedScalarString(value)
        else:
            _quote_unsafe(value)
