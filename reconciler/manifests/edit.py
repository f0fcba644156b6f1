"""In-place edits of string values in a manifest's text (``lint --fix``).

Only the characters that change are rewritten, so comments, key order, anchors, quoting and
layout stay byte for byte (a round trip through a YAML writer would reflow them). Every edit is
checked by reading the text back: it must change exactly the values it meant to, and nothing
else. An edit that cannot be made exactly is returned, never half made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.manifests.scalars import ScalarMap, SourceText, map_scalar, quoted
from reconciler.manifests.yamlstrict import Document, Path_, Pos, YamlProblem, read_documents


@dataclass(frozen=True)
class ValueEdit:
    """Replace characters of the string scalar written at ``pos``: ``value`` is what it reads
    as (before ``${…}`` interpolation), ``replacements`` maps its indexes to new text."""

    pos: Pos
    value: str
    replacements: Mapping[int, str]

    @property
    def result(self) -> str:
        return "".join(self.replacements.get(i, ch) for i, ch in enumerate(self.value))


def edit_values(text: str, edits: Sequence[ValueEdit]) -> tuple[str, list[ValueEdit]]:
    """``text`` with every edit made that reads back exactly, and the edits that could not be.

    Edits are made from the end of the text backwards, so the positions of the ones still to
    come stay true. A change that YAML would read differently (a plain scalar that would start
    with a quote, say) is written again as a double-quoted scalar when it is on one line.
    """
    unique = {edit.pos: edit for edit in edits}
    failed: list[ValueEdit] = []
    try:
        documents = read_documents(text)
    except YamlProblem:
        return text, list(unique.values())
    for pos in sorted(unique, reverse=True):
        edit = unique[pos]
        source = SourceText(text)
        scalar = map_scalar(source, pos, edit.value)
        done = None
        if scalar is not None:
            for candidate in (_surgical(text, scalar, edit), _requoted(text, scalar, edit)):
                if candidate is not None and (after := _reads_as(candidate, documents, edit)):
                    done = candidate, after
                    break
        if done is None:
            failed.append(edit)
            continue
        text, documents = done
    return text, failed


def _surgical(text: str, scalar: ScalarMap, edit: ValueEdit) -> str | None:
    """The text with only the replaced characters rewritten, escaped for the scalar's style."""
    pieces: list[tuple[int, int, str]] = []
    for index, new in edit.replacements.items():
        span = scalar.chars[index] if 0 <= index < len(scalar.chars) else None
        if span is None:
            return None
        pieces.append((span[0], span[1], _escaped(new, scalar.style)))
    for start, end, new in sorted(pieces, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _requoted(text: str, scalar: ScalarMap, edit: ValueEdit) -> str | None:
    """The text with the whole scalar written again, double-quoted, when it is on one line."""
    start, end = scalar.span
    if scalar.style not in ("plain", "'", '"') or "\n" in text[start:end]:
        return None
    return text[:start] + quoted(edit.result) + text[end:]


def _escaped(new: str, style: str) -> str:
    if style == '"':
        return new.replace("\\", "\\\\").replace('"', '\\"')
    if style == "'":
        return new.replace("'", "''")
    return new


def _reads_as(candidate: str, before: list[Document], edit: ValueEdit) -> list[Document] | None:
    """The documents of ``candidate`` when they are ``before`` with exactly this edit made:
    every value written at the edited scalar (an anchor's aliases too) changed, nothing else."""
    try:
        after = read_documents(candidate)
    except YamlProblem:
        return None
    if len(after) != len(before):
        return None
    for old, new in zip(before, after, strict=True):
        edited = [path for path, pos in old.values.items() if pos == edit.pos]
        expected = old.value
        for path in sorted(edited, key=len, reverse=True):
            if _at(old.value, path) == edit.value:
                expected = _replaced(expected, path, edit.result)
        if new.value != expected:
            return None
    return after


def _at(value: object, path: Path_) -> object:
    for part in path:
        if isinstance(value, dict) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def _replaced(value: object, path: Path_, new: str) -> object:
    """A copy of ``value`` with ``new`` at ``path`` (the copies share what they do not change)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict) and isinstance(head, str):
        return {**value, head: _replaced(value[head], rest, new)}
    if isinstance(value, list) and isinstance(head, int):
        return [*value[:head], _replaced(value[head], rest, new), *value[head + 1 :]]
    return value
