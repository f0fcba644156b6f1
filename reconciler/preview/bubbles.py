"""The SMS view: the filled message as a phone's bubble, its segment boundaries marked, the
characters that force UCS-2 highlighted, and its counts. All arithmetic is lint's
(``lint.segments.measure``, ``lint.sms.segment_starts``): the page says what lint says. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.lint.placeholders import masked
from reconciler.lint.segments import measure
from reconciler.lint.sms import GSM7_BASIC, GSM7_EXTENSION, SmsCount, describe_char, segment_starts
from reconciler.preview.fill import spans
from reconciler.preview.markup import attrs, esc, unknown_mark
from reconciler.render.wording import plural

_NOT_GSM7 = re.compile("[^" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENSION))) + "]")


@dataclass(frozen=True)
class SmsView:
    """What the bubble shows: the filled text as written, where its unknown placeholders and
    segments are, and lint's counts of it and of the template."""

    text: str
    unknown: tuple[tuple[int, int], ...]
    sms: SmsCount
    starts: tuple[int, ...]
    template: SmsCount


def sms_view(filled: str, template: str) -> SmsView:
    text, unknown = spans(filled)
    return SmsView(text, unknown, measure(text), segment_starts(masked(text)), measure(template))


def bubble(view: SmsView) -> str:
    """The bubble's HTML: one ``<span class="segment">`` per segment, a numbered marker where
    each later one starts, UCS-2-forcing characters and unknown placeholders marked."""
    text = view.text
    ends = [*view.starts[1:], len(text)]
    out: list[str] = []
    first = 0  # the first unknown placeholder not wholly before this segment (they are in order)
    for number, (start, end) in enumerate(zip(view.starts, ends, strict=True), 1):
        if number > 1:
            out.append(
                f'<span class="boundary" title="segment {number} starts here">{number}</span>'
            )
        out.append(f'<span class="segment"{attrs(data_segment=number)}>')
        at = start
        while first < len(view.unknown) and view.unknown[first][1] <= start:
            first += 1
        for index in range(first, len(view.unknown)):
            low, high = view.unknown[index]
            if low >= end:
                break
            out.append(_characters(text, at, max(low, at), view.sms.first_ucs2))
            out.append(unknown_mark(text[max(low, at) : min(high, end)]))
            at = min(high, end)
        out.append(_characters(text, at, end, view.sms.first_ucs2))
        out.append("</span>")
    return "".join(out)


def _characters(text: str, start: int, end: int, first: int | None) -> str:
    """``text[start:end]`` escaped, each character outside GSM-7 marked."""
    out: list[str] = []
    at = start
    for match in _NOT_GSM7.finditer(text, start, end):
        index = match.start()
        out.append(esc(text[at:index]))
        char = match.group()
        kind = "ucs2 first" if index == first else "ucs2"
        shown = esc(char) if char.isprintable() and not char.isspace() else "&#9647;"
        out.append(
            f'<mark class="{kind}" title="{esc(describe_char(char))} forces UCS-2">{shown}</mark>'
        )
        at = index + 1
    out.append(esc(text[at:end]))
    return "".join(out)


def sms_counts(view: SmsView) -> str:
    """``GSM-7 · 172 septets · 170 characters · 2 segments of 153`` and the template's own."""
    sms = view.sms
    units = "septets" if sms.encoding == "GSM-7" else "UCS-2 code units"
    line = (
        f"{sms.encoding} · {sms.units:,} {units} · {plural(len(view.text), 'character')} · "
        f"{plural(sms.segments, 'segment')} of {sms.per_segment}"
    )
    template = view.template
    lint = (
        f"template as written (what lint counts): {template.encoding}, "
        f"{plural(template.segments, 'segment')}"
    )
    out = f'<p class="counts">{esc(line)}</p><p class="counts lint">{esc(lint)}</p>'
    if sms.first_ucs2 is not None:
        char = describe_char(view.text[sms.first_ucs2])
        more = sms.ucs2_chars - 1
        others = f" (and {plural(more, 'more character')})" if more else ""
        out += (
            f'<p class="note ucs2-note">{esc(char)}{esc(others)} makes this SMS UCS-2: '
            f"{esc(plural(sms.segments, 'segment'))} of {sms.per_segment} characters</p>"
        )
    return out


def sms_attributes(view: SmsView) -> str:
    """The counts as data attributes, for readers of the page other than people."""
    return attrs(
        data_encoding=view.sms.encoding,
        data_units=view.sms.units,
        data_characters=len(view.text),
        data_segments=view.sms.segments,
        data_lint_segments=view.template.segments,
        data_lint_encoding=view.template.encoding,
    )
