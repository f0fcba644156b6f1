"""Strict YAML 1.2 reading (SPEC §3) with ruamel.yaml's C parser (``writer`` is the writing half).

Builds plain Python values plus a map of positions from the C parser's events, so that every
later problem can be reported at ``file:line:column`` without a second, slower parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import CParser  # type: ignore[attr-defined]  # the C parser (ruamel.yaml.clib)
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 10_000

Path_ = tuple[str | int, ...]
Pos = tuple[int, int]  # 1-based line and column

# YAML 1.2 core schema resolution of plain scalars.
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT_RE = re.compile(r"[-+]?[0-9]+$")
_OCT_RE = re.compile(r"0o[0-7]+$")
_HEX_RE = re.compile(r"0x[0-9a-fA-F]+$")
_FLOAT_RE = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|[-+]?\.(inf|Inf|INF)$|\.(nan|NaN|NAN)$"
)
# Plain words that YAML 1.1 parsers read as booleans or numbers: in a string field they are
# the "Norway problem", so we ask for quotes rather than guess (SPEC §3, strict YAML).
_YAML11_AMBIGUOUS = re.compile(
    r"(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$"
    r"|[-+]?(0b[01_]+|0[0-7_]+|[0-9][0-9_]*_[0-9_]*)$"
)


def yaml11_ambiguous(text: str) -> bool:
    """Whether YAML 1.1 parsers would read the plain scalar ``text`` as a boolean or number."""
    return bool(_YAML11_AMBIGUOUS.match(text))


# Characters YAML forbids in a stream (besides tab, LF, CR, NEL); reported with a position.
_BAD_CHAR_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"
)


class _Scalar:
    __slots__ = ("col", "line", "style", "value")

    def __init__(self, value: str, style: str, line: int, col: int) -> None:
        self.value, self.style, self.line, self.col = value, style, line, col


class _Seq:
    __slots__ = ("col", "items", "line")

    def __init__(self, line: int, col: int) -> None:
        self.items: list[_Node] = []
        self.line, self.col = line, col


class _Map:
    __slots__ = ("col", "line", "pairs")

    def __init__(self, line: int, col: int) -> None:
        self.pairs: list[tuple[_Scalar, _Node]] = []
        self.line, self.col = line, col


_Node = _Scalar | _Seq | _Map


class YamlProblem(Exception):
    """A problem that stops reading the current file (or document) at a position."""

    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


@dataclass
class Document:
    """One YAML document: its value and where each path's key and value were written."""

    value: object
    line: int
    column: int
    values: dict[Path_, Pos] = field(default_factory=dict)
    keys: dict[Path_, Pos] = field(default_factory=dict)
    ambiguous: dict[Path_, str] = field(default_factory=dict)
    plain_non_strings: dict[Path_, str] = field(default_factory=dict)

    def position(self, path: Path_) -> Pos:
        """The closest known position for ``path`` (falls back to its parents)."""
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return (self.line, self.column)

    def key_position(self, path: Path_) -> Pos:
        return self.keys.get(path) or self.position(path)


# Letters that begin no null, boolean or number of the core schema: a plain scalar starting
# with one is a string, with no pattern to try (most plain scalars of a manifest; issue 9).
_WORD_START = frozenset("abcdeghijklmopqrsuvwxyzABCDEGHIJKLMOPQRSUVWXYZ")


def resolve_plain(text: str) -> object:
    """Type of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if text[:1] in _WORD_START:
        return text
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT_RE.match(text):
        return int(text)
    if _OCT_RE.match(text):
        return int(text[2:], 8)
    if _HEX_RE.match(text):
        return int(text[2:], 16)
    if _FLOAT_RE.match(text):
        lowered = text.lower().lstrip("+")
        if lowered.endswith("inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        return float("nan") if lowered.endswith("nan") else float(text)
    return text


def decode(data: bytes) -> str:
    """UTF-8 text of a manifest (a BOM is accepted); raises YamlProblem with a position."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(line, col, "file is not valid UTF-8 text") from None
    bad = _BAD_CHAR_RE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        what = (
            "a NUL byte" if bad.group() == "\x00" else f"control character U+{ord(bad.group()):04X}"
        )
        raise YamlProblem(line, col, f"file contains {what}; manifests must be plain text")
    return text


TABS = "tabs are not allowed for indentation; indent with spaces"


def _tab_at(text: str, line: int, column: int) -> bool:
    """Whether the parser stopped at (or in the indentation before) a tab character."""
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return False
    here = lines[line]
    return "\t" in here[: column + 1] and not here[:column].strip(" \t")


@contextmanager
def _events(text: str) -> Iterator[Iterator[Any]]:
    """The parser's events (a C-level iterator: no Python frame per event, issue 9); syntax
    errors raised while they are read become located ``YamlProblem``s."""
    parser = CParser(text)
    try:
        yield iter(parser.get_event, None)  # None once the stream has ended
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = exc.problem or exc.context or "invalid YAML"
        if "tab" in reason or (mark is not None and _tab_at(text, mark.line, mark.column)):
            raise YamlProblem(line, col, TABS) from None
        raise YamlProblem(line, col, f"YAML syntax error: {reason}") from None
    except YAMLError as exc:
        raise YamlProblem(0, 0, f"YAML error: {str(exc).splitlines()[0]}") from None
    finally:
        parser.dispose()


def _check_tag(event: Event) -> None:
    ctag = event.ctag  # type: ignore[attr-defined]  # the raw tag; ``tag`` formats it
    if ctag is not None:
        shown = str(ctag).replace("tag:yaml.org,2002:", "!!")
        raise YamlProblem(
            event.start_mark.line + 1,
            event.start_mark.column + 1,
            f"YAML tags are not allowed in manifests (found {shown})",
        )


def _compose(events: Iterator[Any], start: DocumentStartEvent) -> _Node | None:
    """Build one document's node tree from events, enforcing depth and tag rules.

    The hot loop of manifest loading (issue 9): events are told apart by exact type, and
    positions are read only for events that become nodes.
    """
    if start.version is not None and tuple(start.version) != (1, 2):
        major, minor = start.version
        raise YamlProblem(
            start.start_mark.line + 1,
            1,
            f"%YAML {major}.{minor} is not supported; manifests are YAML 1.2 (remove the directive)",
        )
    if start.tags:
        raise YamlProblem(start.start_mark.line + 1, 1, "%TAG directives are not allowed")
    anchors: dict[str, _Node] = {}
    stack: list[_Seq | _Map] = []
    pending_key: list[_Scalar | None] = []
    root: _Node | None = None
    for event in events:
        kind = type(event)
        if kind is DocumentEndEvent:
            return root
        if kind is MappingEndEvent or kind is SequenceEndEvent:
            stack.pop()
            pending_key.pop()
            continue
        mark = event.start_mark
        line, col = mark.line + 1, mark.column + 1
        node: _Node
        if kind is AliasEvent:
            if event.anchor not in anchors:
                raise YamlProblem(line, col, f"unknown anchor *{event.anchor}")
            node = anchors[event.anchor]
            if any(node is open_node for open_node in stack):
                # Expanding it would never end (a RecursionError, not a located problem).
                raise YamlProblem(line, col, f"alias *{event.anchor} is inside its own anchor")
        else:
            if kind is ScalarEvent:
                if event.ctag is not None:
                    _check_tag(event)
                node = _Scalar(event.value, event.style or "", line, col)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.ctag is not None:
                    _check_tag(event)
                node = _Map(line, col) if kind is MappingStartEvent else _Seq(line, col)
            else:  # pragma: no cover - the parser emits nothing else inside a document
                raise YamlProblem(line, col, f"unexpected YAML event {kind.__name__}")
            if event.anchor:
                anchors[event.anchor] = node
        if not stack:
            root = node
        else:
            parent = stack[-1]
            if type(parent) is _Seq:
                parent.items.append(node)
            elif pending_key[-1] is None:
                if type(node) is not _Scalar:
                    raise YamlProblem(line, col, "mapping keys must be plain strings")
                pending_key[-1] = node
            else:
                key = pending_key[-1]
                assert key is not None
                parent.pairs.append((key, node))  # type: ignore[union-attr]
                pending_key[-1] = None
        if kind is MappingStartEvent or kind is SequenceStartEvent:
            if len(stack) >= MAX_DEPTH:
                raise YamlProblem(line, col, f"nesting is deeper than {MAX_DEPTH} levels")
            stack.append(node)  # type: ignore[arg-type]
            pending_key.append(None)
    raise YamlProblem(0, 0, "unexpected end of YAML stream")


class _Builder:
    """Turns a node tree into Python values, expanding aliases and merge keys within limits."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0

    def build(self, node: _Node, path: Path_) -> object:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(
                node.line, node.col, f"anchors and aliases expand to more than {MAX_NODES:,} nodes"
            )
        if len(path) >= MAX_DEPTH and not isinstance(node, _Scalar):
            # Aliases can nest what _compose saw as shallow trees into one deep one.
            raise YamlProblem(
                node.line, node.col, f"aliases expand to nesting deeper than {MAX_DEPTH} levels"
            )
        self.doc.values[path] = (node.line, node.col)
        kind = type(node)
        if kind is _Scalar:
            assert isinstance(node, _Scalar)
            if node.style:  # quoted or block scalars are always strings
                return node.value
            try:
                value = resolve_plain(node.value)
            except ValueError:  # an integer of more digits than Python converts
                where = ".".join(str(p) for p in path)
                message = "number has too many digits"
                raise YamlProblem(
                    node.line, node.col, f"{where}: {message}" if where else message
                ) from None
            if isinstance(value, str):
                if _YAML11_AMBIGUOUS.match(value):
                    self.doc.ambiguous[path] = value
            else:
                self.doc.plain_non_strings[path] = node.value
            return value
        if kind is _Seq:
            assert isinstance(node, _Seq)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.items)]
        assert isinstance(node, _Map)
        return self._mapping(node, path)

    def _mapping(self, node: _Map, path: Path_) -> dict[str, object]:
        explicit: list[tuple[_Scalar, _Node]] = []
        seen: dict[str, int] = {}
        merges: list[_Map] = []
        for key, value in node.pairs:
            if key.value == "<<" and not key.style:
                sources = value.items if isinstance(value, _Seq) else [value]
                for source in sources:
                    if not isinstance(source, _Map):
                        raise YamlProblem(key.line, key.col, "a merge key (<<) needs a mapping")
                    merges.append(source)
                continue
            if key.value in seen:
                raise YamlProblem(
                    key.line,
                    key.col,
                    f"duplicate key '{key.value}' (first at line {seen[key.value]})",
                )
            seen[key.value] = key.line
            explicit.append((key, value))
        result: dict[str, object] = {}
        # Earlier merge sources win over later ones, explicit keys over all of them; building
        # the explicit keys last also leaves their positions in the map, not the anchor's.
        for source in reversed(merges):
            result.update(self._mapping(source, path))
        keys = self.doc.keys
        for key, value in explicit:
            name = key.value
            at = (*path, name)
            keys[at] = (key.line, key.col)
            result[name] = self.build(value, at)
        return result


def read_documents(text: str) -> list[Document]:
    """Parse every document of a YAML stream; the first structural problem raises YamlProblem."""
    documents: list[Document] = []
    with _events(text) as events:
        for event in events:
            if type(event) is DocumentStartEvent:
                line = event.start_mark.line + 1
                root = _compose(events, event)
                if root is None or (
                    isinstance(root, _Scalar) and not root.style and not root.value
                ):
                    documents.append(Document(None, line, 1))
                    continue
                doc = Document(None, root.line, root.col)
                doc.value = _Builder(doc).build(root, ())
                documents.append(doc)
    return documents
