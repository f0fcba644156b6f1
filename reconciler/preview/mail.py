"""The email view: the body made safe to show in a sandboxed ``<iframe srcdoc>``, its remote
images replaced by placeholders (and listed), and its plain-text fallback. Pure.

The iframe carries ``sandbox=""`` (no scripts, no same origin, no popups, no top navigation),
and the body its own Content-Security-Policy: nothing it holds can run or load anything.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from reconciler.preview.fill import CLOSE, OPEN
from reconciler.preview.markup import esc

BODY_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'"
_HEAD = (
    '<!DOCTYPE html><meta charset="utf-8">'
    f'<meta http-equiv="Content-Security-Policy" content="{BODY_CSP}">'
    '<meta name="referrer" content="no-referrer">'
    "<style>mark.unknown{background:#ffe08a;outline:1px dashed #b7791f}"
    "img.blocked{background:#eee;border:1px dashed #999}</style>"
)
# A grey box where an image would be: an image that loads nothing.
PLACEHOLDER = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='120' height='40'%3E"
    "%3Crect width='120' height='40' fill='%23eeeeee'/%3E%3Ctext x='60' y='25' font-size='12' "
    "text-anchor='middle' fill='%23666666'%3Eimage not loaded%3C/text%3E%3C/svg%3E"
)
# Tags as a browser reads them (a quoted value may hold ``>``), and as a reader who ignores
# quotes would: the views differ in raw text (``<title><img alt="</title><img src=…>``), so
# both are searched and a reference either one sees is blocked and listed.
_QUOTED_TAG = re.compile(r"""<[A-Za-z](?:[^>"'=]|=\s*"[^"]*"|=\s*'[^']*'|=|["'])*>?""")
_TAG = re.compile(r"<[A-Za-z!/?][^>]*>?", re.S)
_TAG_NAME = re.compile(r"<([A-Za-z][^\s/>]*)")
# An attribute starts after a space, a ``/`` or the quote closing the one before it.
_URL_ATTR = re.compile(
    r"""([\s/"'])(src|srcset|background|poster|lowsrc|dynsrc|data|xlink:href|href)\s*=\s*"""
    r"""("[^"]*"|'[^']*'|[^\s>]+)""",
    re.I,
)
_SVG_HREF = frozenset({"image", "use", "feimage"})  # an href these load (an <a href> does not)
_CANDIDATE = re.compile(r"[\s,]*(\S*)")  # a srcset candidate's URL
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""", re.I)
# What CSS also loads from a string, found once escapes and character references are undone.
_CSS_STRING_URL = re.compile(r"""@import\s*(?:"([^"]*)"|'([^']*)')|image-set\(([^)]*)\)""", re.I)
_CSS_STRING = re.compile(r""""([^"]*)"|'([^']*)'""")
_CSS_ESCAPE = re.compile(r"\\(?:([0-9A-Fa-f]{1,6})\s?|([^\n0-9A-Fa-f]))")
_DANGEROUS = re.compile(r"<(meta|base|link)\b[^>]*>", re.I)
_TAG_OPEN = re.compile(r"<[A-Za-z]")
_MARK_OR_ANGLE = re.compile(f"[<>]|{OPEN}([^{CLOSE}]*){CLOSE}")


@dataclass(frozen=True)
class MailView:
    srcdoc: str  # the body as the iframe shows it (not yet escaped for the attribute)
    images: tuple[str, ...]  # the remote (or any non-data) references that were not loaded
    plain: str  # the plain-text fallback, with unknown placeholders marked


def is_html(body: str) -> bool:
    """Whether ``body`` holds a tag: a ``<`` and a letter with a ``>`` after them (the first
    such ``<`` decides, so a body of ``<a <a …`` is read once, not from every ``<``)."""
    opening = _TAG_OPEN.search(body)
    return opening is not None and body.find(">", opening.end()) >= 0


def mail_view(filled_body: str, *, html_body: bool | None = None) -> MailView:
    """``filled_body`` (HTML-escaped sample values, unknown placeholders marked) made safe.

    ``html_body``: whether the template is HTML (``is_html`` of the template, not of the
    filled text: a sample value holding markup leaves a plain body plain)."""
    images: list[str] = []
    if not (is_html(filled_body) if html_body is None else html_body):
        text = esc(filled_body)
        body = f'<div style="white-space:pre-wrap;font-family:sans-serif">{text}</div>'
        return MailView(_HEAD + _marks_in_text(body), (), filled_body)
    safe = _dropped(filled_body)
    safe = _QUOTED_TAG.sub(lambda m: _tag(m.group(), images), safe)
    safe = _TAG.sub(lambda m: _tag(m.group(), images), safe)
    safe = _CSS_URL.sub(lambda m: _css_url(m, images), safe)
    images.extend(_css_references(safe))
    return MailView(_HEAD + _marks_in_text(safe), tuple(dict.fromkeys(images)), plain_text(safe))


def _dropped(body: str) -> str:
    """``body`` without ``<meta>``, ``<base>`` and ``<link>``, removed until none is left: the
    pieces around one removed (``<me<meta>ta …>``) cannot join into another."""
    while True:
        safe = _DANGEROUS.sub("", body)
        if safe == body:
            return safe
        body = safe


def _tag(tag: str, images: list[str]) -> str:
    found = _TAG_NAME.match(tag)
    element = found.group(1).lower() if found else ""

    def replace(match: re.Match[str]) -> str:
        space, name, raw = match.groups()
        lowered = name.lower()
        if lowered.endswith("href") and element not in _SVG_HREF:
            return match.group()
        value = html.unescape(raw[1:-1] if raw[:1] in "\"'" else raw).strip()
        remote = [url for url in _urls(value, lowered) if not url.lower().startswith("data:")]
        if not remote and value and lowered != "data":
            return match.group()
        images.extend(remote or ([value] if value else []))
        if lowered == "src" and element == "img":
            return f'{space}src="{PLACEHOLDER}" class="blocked" data-blocked="1"'
        return f'{space}data-blocked-{lowered.replace(":", "-")}=""'

    return _URL_ATTR.sub(replace, tag)


def _urls(value: str, name: str) -> list[str]:
    """The URLs an attribute's value names: a ``srcset`` lists candidates (a URL, then its
    descriptors up to a comma; a ``data:`` URL may itself hold commas)."""
    if not value:
        return []
    if name != "srcset":
        return [value]
    urls = []
    at = 0
    while at < len(value):
        found = _CANDIDATE.match(value, at)
        assert found is not None
        url, at = found.group(1), found.end()
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            comma = value.find(",", at)
            at = len(value) if comma < 0 else comma + 1
        if url:
            urls.append(url)
    return urls


def _css_references(body: str) -> list[str]:
    """URLs CSS would load that ``url(…)`` as written does not show: behind CSS escapes
    (``u\\72l(``) or character references (``&#117;rl(``), in ``@import "…"`` or in
    ``image-set("…")``. Listed only: the policies keep them from loading."""
    text = _CSS_ESCAPE.sub(_css_unescape, html.unescape(body))
    urls = [next((g for g in m.groups() if g is not None), "") for m in _CSS_URL.finditer(text)]
    for match in _CSS_STRING_URL.finditer(text):
        imported, quoted, image_set = match.groups()
        if image_set is None:
            urls.append(imported if imported is not None else quoted)
        else:
            urls.extend(a or b for a, b in _CSS_STRING.findall(image_set))
    return [u.strip() for u in urls if u.strip() and not u.strip().lower().startswith("data:")]


def _css_unescape(match: re.Match[str]) -> str:
    code, char = match.groups()
    if char is not None:
        return char
    number = int(code, 16)
    return chr(number) if 0 < number <= 0x10FFFF and not 0xD800 <= number < 0xE000 else "\ufffd"


def _css_url(match: re.Match[str], images: list[str]) -> str:
    written = next((g for g in match.groups() if g is not None), "")
    url = html.unescape(written).strip().strip("\"'").strip()  # url(&quot;…&quot;) in style=
    if url.lower().startswith("data:"):
        return match.group()
    if url:
        images.append(url)
    return "url(data:,)"


def _marks_in_text(body: str) -> str:
    """Unknown placeholders as ``<mark>`` in text, as their bare ``{{name}}`` inside a tag
    (after a ``<`` with no ``>`` since), in one pass."""
    if OPEN not in body:
        return body
    out: list[str] = []
    inside_tag = False
    at = 0
    for match in _MARK_OR_ANGLE.finditer(body):
        if match.group(1) is None:
            inside_tag = match.group() == "<"
            continue
        out.append(body[at : match.start()])
        shown = "{{" + match.group(1) + "}}"
        out.append(shown if inside_tag else f'<mark class="unknown">{esc(shown)}</mark>')
        at = match.end()
    out.append(body[at:])
    return "".join(out)


class _Text(HTMLParser):
    """The text of an HTML body, with a line break after each block."""

    BLOCKS = frozenset(
        [
            "p",
            "div",
            "br",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "li",
            "tr",
            "table",
            "ul",
            "ol",
            "blockquote",
            "section",
            "header",
            "footer",
        ]
    )
    SKIP = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self.href = next((v for k, v in attrs if k == "href" and v), "") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.href:
            self.parts.append(f" <{self.href}>")
            self.href = ""

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


# The standard library's parser raises AssertionError on a marked section it has no name for
# (``<![ ]>``, ``<![foo[``), and rescans to the end of the body from every '<' it cannot
# finish (``<a <a <a …``, comments never closed): quadratic, a minute for 60 kB. The plain
# view reads such a '<' as text: a tag needs its '>' before the next '<', a comment or a
# marked section its close somewhere after it.
_UNKNOWN_SECTION = re.compile(r"<!\[(?!(?:cdata|if|else|endif|temp|ignore|include|rcdata)\b)", re.I)
_UNFINISHED_TAG = re.compile(r"<(?=[^<>]*(?:<|\Z))")
_COMMENT_CLOSE = re.compile(r"--\s*>")  # as html.parser ends a comment
_SECTION_CLOSE = re.compile(r"\]\s*>")  # and a marked section


def _parseable(body: str) -> str:
    """``body`` with each '<' the standard library's parser would choke on written ``&lt;``."""
    body = _UNFINISHED_TAG.sub("&lt;", _UNKNOWN_SECTION.sub("&lt;![", body))
    for opening, close in (("<!--", _COMMENT_CLOSE), ("<![", _SECTION_CLOSE)):
        last = max((m.start() for m in close.finditer(body)), default=-1)
        if body.find(opening, last + 1) >= 0:
            head, tail = body[: last + 1], body[last + 1 :]
            body = head + tail.replace(opening, "&lt;" + opening[1:])
    return body


def plain_text(body_html: str) -> str:
    """What a client without HTML shows: the text, one paragraph per block, links as
    ``text <url>``; blank runs squeezed."""
    parser = _Text()
    parser.feed(_parseable(body_html))
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
