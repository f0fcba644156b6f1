"""Email rules: a subject, of at most 78 characters, and an HTML body whose tags balance.

Pure checks of one communication's texts; positions are indexes into them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

from reconciler.lint.rules import Finding

SUBJECT_MAX = 78
_LOOKS_LIKE_HTML = re.compile(r"<[A-Za-z/!]")
# Elements with no end tag, and those whose end tag HTML lets the next element imply.
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
_OPTIONAL_END = frozenset(
    {
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "thead",
        "tbody",
        "tfoot",
        "option",
        "optgroup",
        "colgroup",
        "caption",
        "rb",
        "rt",
        "rtc",
        "rp",
        "html",
        "head",
        "body",
    }
)


def email_findings(subject: str, message: str) -> Iterator[Finding]:
    if not subject.strip():
        yield Finding("email-subject", "email has no subject", "subjectTemplate")
    elif len(subject) > SUBJECT_MAX:
        yield Finding(
            "email-subject-length",
            f"email subject is {len(subject)} characters; mail clients cut it after {SUBJECT_MAX}",
            "subjectTemplate",
            SUBJECT_MAX,
        )
    problem = html_problem(message)
    if problem is not None:
        index, text = problem
        yield Finding("email-html", text, "messageTemplate", index)


def html_problem(text: str) -> tuple[int, str] | None:
    """The first unbalanced tag of an HTML body as (index, message), or None; text that has
    no tags is not HTML and has none."""
    if not _LOOKS_LIKE_HTML.search(text):
        return None
    checker = _Balance()
    try:
        checker.feed(text)
        checker.close()
    except AssertionError:  # html.parser gives up on some malformed declarations
        return None
    checker.finish()
    if checker.problem is None:
        return None
    (line, column), message = checker.problem
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    return starts[line - 1] + column, message


class _Balance(HTMLParser):
    """Keeps the open elements; records the first end tag that closes nothing or skips an
    element that must be closed, and the first such element left open at the end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, tuple[int, int]]] = []
        self.problem: tuple[tuple[int, int], str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.open.append((tag, self.getpos()))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or self.problem is not None:
            return
        names = [name for name, _ in self.open]
        if tag not in names:
            self._note(self.getpos(), f"HTML end tag </{tag}> closes no open <{tag}>")
            return
        depth = len(names) - 1 - names[::-1].index(tag)
        for name, where in self.open[depth + 1 :]:
            if name not in _OPTIONAL_END:
                line = where[0]
                self._note(where, f"HTML <{name}> (line {line}) is not closed before </{tag}>")
                break
        del self.open[depth:]

    def finish(self) -> None:
        for name, where in self.open:
            if name not in _OPTIONAL_END:
                self._note(where, f"HTML <{name}> is never closed")
                return

    def _note(self, where: tuple[int, int], message: str) -> None:
        if self.problem is None:
            self.problem = (where, message)
