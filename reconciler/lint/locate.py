"""Where a lint finding is, as ``file:line:column``: inside a template, the character itself
(through YAML quoting and ``${…}`` interpolation, or the line of a template file), and which
``# reconciler: ignore[rule-id]`` comments switch rules off for a communication.

A valid document keeps only a few positions (issue 9), so the file is read again here, and
parsed again only when there is something to point at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.lint.rules import Finding
from reconciler.manifests import LoadedDocument
from reconciler.manifests.interpolate import origins
from reconciler.manifests.scalars import ScalarMap, SourceText, Span, map_scalar
from reconciler.manifests.yamlstrict import (
    Document,
    Path_,
    Pos,
    YamlProblem,
    decode,
    read_documents,
)

IGNORE_MARK = "reconciler:"
_IGNORE = re.compile(r"#\s*reconciler:\s*ignore\[([^\]\n]*)\]")
_STRING_FIELDS = ("sender", "subjectTemplate", "messageTemplate", "messageTemplateFile", "channel")


@dataclass(frozen=True)
class Where:
    path: str
    line: int
    column: int
    variable: str = ""  # the ${variable} the character came from, if it did


@dataclass(frozen=True)
class IgnoreComment:
    entry: int
    rules: tuple[str, ...]
    line: int
    column: int


class Locator:
    """Positions in one manifest file. Reads the file's text at once (to look for ignore
    comments) and parses it only when a finding needs a position a document did not keep."""

    def __init__(self, path: str, variables: Mapping[str, str]) -> None:
        self.path = path
        self.variables = variables
        try:
            self.text: str | None = decode(Path(path).read_bytes())
        except (OSError, YamlProblem):  # changed since it was loaded: entry positions only
            self.text = None
        self._source: SourceText | None = None
        self._documents: dict[Pos, Document] | None = None
        self._scalars: dict[
            tuple[Pos, str], tuple[list[tuple[int, str | None]], ScalarMap | None]
        ] = {}

    @property
    def has_ignores(self) -> bool:
        return self.text is not None and IGNORE_MARK in self.text

    def document(self, loaded: LoadedDocument) -> Document | None:
        """The parsed document that ``loaded`` was read from."""
        if self._documents is None:
            self._documents = {}
            if self.text is not None:
                try:
                    parsed = read_documents(self.text)
                except YamlProblem:
                    parsed = []
                self._documents = {(d.line, d.column): d for d in parsed}
                self._source = SourceText(self.text)
        return self._documents.get(loaded.position(()))

    def where(self, loaded: LoadedDocument, entry: int, finding: Finding) -> Where:
        at: Path_ = ("communications", entry)
        spec = loaded.model.communications[entry]
        if finding.field == "messageTemplate" and spec.messageTemplateFile is not None:
            return _in_template(loaded, entry, spec.messageTemplateFile, finding.index)
        fallback = Where(self.path, *loaded.position(at))
        if finding.field is None:
            return fallback
        document = self.document(loaded)
        path = (*at, finding.field)
        if document is None or path not in document.values:
            return fallback
        pos = document.values[path]
        start = Where(self.path, *pos)
        raw = value_at(document.value, path)
        if finding.index is None or not isinstance(raw, str) or self._source is None:
            return start
        written, scalar = self._maps(pos, raw)
        if not 0 <= finding.index < len(written):
            return start
        index, variable = written[finding.index]
        span = scalar.chars[index] if scalar is not None else None
        if span is None:
            return start
        line, column = self._source.position(span[0])
        return Where(self.path, line, column, variable or "")

    def _maps(self, pos: Pos, raw: str) -> tuple[list[tuple[int, str | None]], ScalarMap | None]:
        """Where each interpolated character was written, and the scalar's source map: once
        per scalar, however many findings it has."""
        key = (pos, raw)
        if key not in self._scalars:
            assert self._source is not None
            self._scalars[key] = (
                origins(raw, self.variables),
                map_scalar(self._source, pos, raw),
            )
        return self._scalars[key]

    def ignores(self, loaded: LoadedDocument) -> list[IgnoreComment]:
        """The ignore comments of each communication of ``loaded``: on one of its lines, or on
        a line of its own right above it; never text inside a template."""
        if not self.has_ignores or self.text is None:
            return []
        document = self.document(loaded)
        source = self._source
        if document is None or source is None:
            return []
        count = len(loaded.model.communications)
        starts = [loaded.position(("communications", i))[0] for i in range(count)]
        if not starts:
            return []
        end = _document_end(source, starts[-1])
        inside = _scalar_spans(source, document, count)
        found: list[IgnoreComment] = []
        for match in _IGNORE.finditer(self.text, source.starts[max(starts[0] - 2, 0)]):
            line, column = source.position(match.start())
            if line > end:
                break
            if any(s <= match.start() < e for s, e in inside):
                continue
            entry = _entry_of(source, starts, line, column)
            if entry is not None:
                names = tuple(n.strip() for n in match.group(1).split(",") if n.strip())
                found.append(IgnoreComment(entry, names, line, column))
        return found


def _in_template(loaded: LoadedDocument, entry: int, name: str, index: int | None) -> Where:
    shown = os.path.normpath(os.path.join(os.path.dirname(loaded.path), name))
    if index is None:
        return Where(shown, 1, 1)
    text = loaded.message_templates[entry]
    line = text.count("\n", 0, index) + 1
    return Where(shown, line, index - (text.rfind("\n", 0, index) + 1) + 1)


def value_at(value: object, path: Path_) -> object:
    """The value at ``path`` of a parsed document's tree, or None."""
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def _scalar_spans(source: SourceText, document: Document, count: int) -> list[Span]:
    """Source spans of the entries' string values: text there is content, not a comment."""
    spans = []
    for i in range(count):
        for name in _STRING_FIELDS:
            path: Path_ = ("communications", i, name)
            value = value_at(document.value, path)
            if isinstance(value, str) and path in document.values:
                scalar = map_scalar(source, document.values[path], value)
                if scalar is not None:
                    spans.append(scalar.span)
    return spans


def _document_end(source: SourceText, last_start: int) -> int:
    """The last line the final communication can have: before the next line that starts at
    column 1 (a top-level key or a document marker)."""
    for line in range(last_start + 1, len(source.starts) + 1):
        text = source.line_text(line)
        if text[:1] not in ("", " ", "\t", "#", "-", "\r"):
            return line - 1
        if text.startswith(("---", "...")):
            return line - 1
    return len(source.starts)


def _entry_of(source: SourceText, starts: list[int], line: int, column: int) -> int | None:
    """The communication a comment at ``line`` belongs to."""
    if not source.line_text(line)[: column - 1].strip():  # a comment on a line of its own
        below = line + 1
        while below <= len(source.starts) and (
            not (text := source.line_text(below).strip()) or text.startswith("#")
        ):
            below += 1
        if below in starts:
            return starts.index(below)
    if line < starts[0]:
        return None
    return max(i for i, start in enumerate(starts) if start <= line)
