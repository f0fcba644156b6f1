"""SMS arithmetic (3GPP TS 23.038 / 23.040): encoding, septets or UTF-16 code units, segments,
the first character that forces UCS-2, and the GSM-7 replacements ``lint --fix`` applies.

Pure functions of a string: no I/O, no imports from the rest of the package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# The GSM 03.38 default alphabet (one septet each; 0x1B is the escape, not a character) and its
# extension table (two septets each: the escape and the character). 0x09 is Ç, as in 23.038.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# One SMS carries 140 octets: 160 septets or 70 UCS-2 code units. A concatenated message loses
# 6 octets per part to its header: 153 septets or 67 code units per part.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

_NOT_GSM7 = re.compile("[^" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENSION))) + "]")

# Typographic characters that word processors put in and GSM-7 can say plainly.
REPLACEMENTS: dict[str, str] = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark, apostrophe
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u201f": '"',  # double high-reversed-9 quotation mark
    "\u2033": '"',  # double prime
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
    "\u00a0": " ",  # non-breaking space
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow non-breaking space
    "\u2026": "...",  # horizontal ellipsis
    "\u200b": "",  # zero-width space: invisible, and it alone makes a message UCS-2
    "\ufeff": "",  # zero-width no-break space (a stray byte-order mark)
}


@dataclass(frozen=True)
class SmsCount:
    """How a text travels as SMS: ``units`` are septets (GSM-7) or UTF-16 code units (UCS-2)."""

    encoding: Encoding
    units: int
    segments: int
    first_ucs2: int | None = None  # index of the first character that forces UCS-2
    ucs2_chars: int = 0  # how many characters force UCS-2

    @property
    def per_segment(self) -> int:
        """What one segment holds at this length: a single SMS holds more than a part."""
        single = self.segments == 1
        if self.encoding == "GSM-7":
            return GSM7_SINGLE if single else GSM7_PART
        return UCS2_SINGLE if single else UCS2_PART


def septets(char: str) -> int:
    """Septets of one GSM-7 character: 2 for the extension table, 1 otherwise."""
    return 2 if char in GSM7_EXTENSION else 1


def is_gsm7(text: str) -> bool:
    return _NOT_GSM7.search(text) is None


def first_ucs2(text: str) -> int | None:
    """The index of the first character outside GSM-7, or None."""
    match = _NOT_GSM7.search(text)
    return match.start() if match else None


def count(text: str) -> SmsCount:
    """Encoding, units and segments of ``text`` sent as one (possibly concatenated) SMS.

    A two-septet character never straddles two parts (the escape would be cut from its
    character), nor does a surrogate pair (an emoji is two UTF-16 code units) in UCS-2.
    An empty text is one segment.
    """
    forcing = _NOT_GSM7.findall(text)
    if not forcing:
        extended = sum(text.count(char) for char in GSM7_EXTENSION)
        units = len(text) + extended
        if units <= GSM7_SINGLE:
            return SmsCount("GSM-7", units, 1)
        if not extended:
            return SmsCount("GSM-7", units, -(-units // GSM7_PART))
        return SmsCount("GSM-7", units, _parts((septets(c) for c in text), GSM7_PART))
    wide = sum(1 for char in text if ord(char) > 0xFFFF)
    units = len(text) + wide
    first = first_ucs2(text)
    if units <= UCS2_SINGLE:
        segments = 1
    elif not wide:
        segments = -(-units // UCS2_PART)
    else:
        segments = _parts((2 if ord(c) > 0xFFFF else 1 for c in text), UCS2_PART)
    return SmsCount("UCS-2", units, segments, first, len(forcing))


def _parts(widths: Iterable[int], capacity: int) -> int:
    """Parts needed to pack characters of the given widths, none split over two parts."""
    return len(_starts(widths, capacity))


def _starts(widths: Iterable[int], capacity: int) -> list[int]:
    """Index of the first character of each part, packing characters of the given widths."""
    starts, used = [0], 0
    for index, width in enumerate(widths):
        if used + width > capacity:
            starts.append(index)
            used = 0
        used += width
    return starts


def segment_starts(text: str) -> tuple[int, ...]:
    """Index in ``text`` where each segment of ``count(text)`` starts (``(0,)`` for one): the
    boundaries a phone joins again, packed exactly as ``count`` packs them."""
    sms = count(text)
    if sms.segments == 1:
        return (0,)
    if sms.encoding == "GSM-7":
        return tuple(_starts((septets(c) for c in text), GSM7_PART))
    return tuple(_starts((2 if ord(c) > 0xFFFF else 1 for c in text), UCS2_PART))


def replaced(text: str) -> str:
    """``text`` with every character of ``REPLACEMENTS`` replaced."""
    if text.isascii():
        return text
    return "".join(REPLACEMENTS.get(char, char) for char in text)


def gsm7_fixed(text: str) -> str | None:
    """The replacement of ``text`` when it makes the text GSM-7 and changes it, else None."""
    fixed = replaced(text)
    return fixed if fixed != text and is_gsm7(fixed) else None


def describe_char(char: str) -> str:
    """``\u2019 (U+2019)`` for a right single quotation mark; invisible characters by code
    point only."""
    code = f"U+{ord(char):04X}"
    if not char.isprintable() or char.isspace() or char in ("\u200b", "\ufeff"):
        return code
    return f"{char} ({code})"
