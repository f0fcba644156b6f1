"""Where each character of a string scalar was written in its file: YAML's quoting, escapes
and folding undone, for diagnostics that point inside a template and for in-place fixes.

Pure functions over a file's text; reads nothing and keeps nothing.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from reconciler.manifests.yamlstrict import Pos

# Characters YAML folds, strips or indents with: the only ones a value and its source may
# disagree on. Every other character of a value was written once in the source, in order.
_LAYOUT = frozenset(" \t\n\r")
_ANCHOR = re.compile(r"&[^\s]+\s+")
_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}

Span = tuple[int, int]  # [start, end) offsets in the file's text


class SourceText:
    """A file's text with its line starts: offsets to 1-based positions and back."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def offset(self, pos: Pos) -> int:
        line, column = pos
        return self.starts[line - 1] + column - 1

    def position(self, offset: int) -> Pos:
        line = bisect.bisect_right(self.starts, offset)
        return (line, offset - self.starts[line - 1] + 1)

    def line_text(self, line: int) -> str:
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return self.text[self.starts[line - 1] : end]


@dataclass(frozen=True)
class ScalarMap:
    """A scalar's style (``plain``, ``'``, ``"``, ``|`` or ``>``), the span of its source
    (quotes and block header included) and the source span of each value character (None for
    characters YAML's folding produced)."""

    style: str
    span: Span
    chars: tuple[Span | None, ...]


def map_scalar(source: SourceText, pos: Pos, value: str) -> ScalarMap | None:
    """The source map of the string scalar written at ``pos`` whose value is ``value``; None
    when the source there does not read as that value (then callers point at ``pos``)."""
    start = source.offset(pos)
    text = source.text
    anchor = _ANCHOR.match(text, start)
    if anchor:
        start = anchor.end()
    if start >= len(text):
        return None
    head = text[start]
    style = head if head in "'\"|>" else "plain"
    decoded = _decoded(text, start, style)
    chars: list[Span | None] = [None] * len(value)
    end = start + (1 if style != "plain" else 0)
    for index, char in enumerate(value):
        if char in _LAYOUT:
            continue
        got, first, last = next(
            (item for item in decoded if item[0] is None or item[0] not in _LAYOUT),
            (None, 0, 0),
        )
        if got != char:  # another character, the closing quote, or the end of the text
            return None
        chars[index] = (first, last)
        end = last
    if style in ("'", '"'):
        closing = next((e for got, _, e in decoded if got is None), None)
        if closing is None:
            return None
        end = closing
    return ScalarMap(style, (start, end), tuple(chars))


def _decoded(text: str, start: int, style: str) -> Iterator[tuple[str | None, int, int]]:
    """(character, start, end) of each character the source at ``start`` stands for; a
    quoted scalar ends with (None, start, end) of its closing quote."""
    if style in "|>":
        newline = text.find("\n", start)
        if newline < 0:
            return
        yield from ((ch, i, i + 1) for i, ch in enumerate(text[newline + 1 :], newline + 1))
        return
    if style == "plain":
        yield from ((ch, i, i + 1) for i, ch in enumerate(text[start:], start))
        return
    i = start + 1
    while i < len(text):
        ch = text[i]
        if style == "'":
            if ch == "'":
                if text.startswith("''", i):
                    yield "'", i, i + 2
                    i += 2
                    continue
                yield None, i, i + 1
                return
        elif ch == '"':
            yield None, i, i + 1
            return
        elif ch == "\\":
            i = yield from _escape(text, i)
            continue
        yield ch, i, i + 1
        i += 1


def _escape(text: str, i: int) -> Generator[tuple[str | None, int, int], None, int]:
    """The character a double-quoted escape at ``i`` stands for; returns the next offset."""
    code = text[i + 1 : i + 2]
    if code in ("\n", "\r"):  # an escaped line break: the line continues, nothing is added
        return i + 2 + (1 if text.startswith("\r\n", i + 1) else 0)
    if code in _ESCAPES:
        yield _ESCAPES[code], i, i + 2
        return i + 2
    digits = _HEX_DIGITS.get(code)
    if digits is not None:
        try:
            char = chr(int(text[i + 2 : i + 2 + digits], 16))
        except ValueError:
            char = "\ufffd"
        yield char, i, i + 2 + digits
        return i + 2 + digits
    yield text[i : i + 1], i, i + 1
    return i + 1


def quoted(value: str) -> str:
    """``value`` as a double-quoted scalar on one line (JSON escapes are YAML escapes)."""
    import json

    return json.dumps(value, ensure_ascii=False)
