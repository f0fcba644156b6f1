"""SMS arithmetic (issue 17): table tests from 3GPP TS 23.038/23.040 and carrier examples, and a
property test against an independent oracle that splits the encoded message like a modem does.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.lint.segments import measure, segments_note
from reconciler.lint.sms import REPLACEMENTS, count, gsm7_fixed, is_gsm7, segment_starts, septets

# --- the oracle: the GSM 03.38 tables as 3GPP prints them, and a splitter of encoded units ---

# The default alphabet in code order (0x00-0x7F); 0x1B is the escape to the extension table.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
ESC = 0x1B
assert len(_BASIC_TABLE) == 128


_BASIC_CODES = {char: code for code, char in enumerate(_BASIC_TABLE) if code != ESC}
_EXTENSION_CODES = {char: code for code, char in _EXTENSION_TABLE.items()}


def gsm_septets(text: str) -> list[int] | None:
    """The septets a modem sends for ``text``, or None when it is not GSM-7."""
    out: list[int] = []
    for char in text:
        if char in _BASIC_CODES:
            out.append(_BASIC_CODES[char])
        elif char in _EXTENSION_CODES:
            out += [ESC, _EXTENSION_CODES[char]]
        else:
            return None
    return out


def split(units: list[int], single: int, part: int, joined: set[int]) -> int:
    """Parts of a message: one if it fits ``single``, else cuts of ``part`` units, each cut
    moved one unit back when it would separate unit ``i`` in ``joined`` from the next one."""
    if len(units) <= single:
        return 1
    parts, start = 0, 0
    while start < len(units):
        end = min(start + part, len(units))
        if end < len(units) and end - 1 in joined:
            end -= 1
        parts += 1
        start = end
    return parts


def oracle(text: str) -> tuple[str, int, int]:
    """(encoding, units, segments) by encoding and splitting, not by arithmetic."""
    septets = gsm_septets(text)
    if septets is not None:
        escapes, i = set(), 0  # the escapes that open a pair, counted from the start
        while i < len(septets):
            if septets[i] == ESC:
                escapes.add(i)
                i += 2
            else:
                i += 1
        return "GSM-7", len(septets), split(septets, 160, 153, escapes)
    data = text.encode("utf-16-be")
    units = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    high = {i for i, unit in enumerate(units) if 0xD800 <= unit <= 0xDBFF}
    return "UCS-2", len(units), split(units, 70, 67, high)


# --- table tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * (153 * 2 + 1), "GSM-7", 307, 3),
        ("é" * 160, "GSM-7", 160, 1),  # é is in the default alphabet
        ("…" * 70, "UCS-2", 70, 1),
        ("…" * 71, "UCS-2", 71, 2),
        ("é" * 69 + "…", "UCS-2", 70, 1),
        ("é…" * 35, "UCS-2", 70, 1),
        ("é…" * 67, "UCS-2", 134, 2),
        ("é…" * 67 + "é", "UCS-2", 135, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        # An escape pair never straddles two parts: the third part holds the last 'a'.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),
        # Nor does a surrogate pair.
        ("a" * 66 + "😀" + "a" * 66, "UCS-2", 134, 3),
        ("Hi {first}, 50% off ~ today | now [x] \\o/ ^^", "GSM-7", 53, 1),
    ],
)
def test_carrier_examples(text: str, encoding: str, units: int, segments: int) -> None:
    got = count(text)
    assert (got.encoding, got.units, got.segments) == (encoding, units, segments)
    assert oracle(text) == (encoding, units, segments)


@pytest.mark.parametrize("char", list("^{}\\[~]|€\f"))
def test_each_extension_character_counts_two_septets(char: str) -> None:
    assert count(char).units == 2
    assert count(char * 80).segments == 1
    assert count(char * 81).segments == 2
    assert count("a" + char).encoding == "GSM-7"


def test_the_first_character_that_forces_ucs2_is_named_with_the_rest_counted() -> None:
    got = count("Don’t miss it… – today")
    assert got.encoding == "UCS-2"
    assert got.first_ucs2 == 3
    assert got.ucs2_chars == 3


def test_every_replacement_turns_a_non_gsm_character_into_gsm7_text() -> None:
    for char, replacement in REPLACEMENTS.items():
        assert not is_gsm7(char), char
        assert is_gsm7(replacement), char
    assert gsm7_fixed("You’re “in” — 3 days…") == 'You\'re "in" - 3 days...'
    assert gsm7_fixed("Привет ’") is None  # still UCS-2 after the replacements: left alone
    assert gsm7_fixed("plain") is None


def test_placeholders_count_as_written_and_their_braces_are_free() -> None:
    # 14 characters for {{first_name}}, not the 18 septets its four braces would cost.
    assert measure("{{first_name}}").units == 14
    assert count("{{first_name}}").units == 18
    assert measure("{% if x %}’{% endif %}").first_ucs2 == 10


def test_the_plan_note_names_segments_and_the_character_with_its_column() -> None:
    before = "a" * 150
    after = "a" * 40 + "’" + "a" * 110
    assert segments_note(before, after) == "segments 1 → 3 (UCS-2: ’ at column 41)"
    assert segments_note(None, "hi") == "segments 1"
    assert segments_note(None, "line one\nli’ne") == "segments 1 (UCS-2: ’ at line 2, column 3)"


# --- the property test -------------------------------------------------------------------------

# A message is a length, a table and a seed: three draws per example keep 10,000 examples within
# seconds (drawing each character costs hypothesis a millisecond). The GSM table puts extension
# characters on every side of part boundaries; the mixed one adds what forces UCS-2, emoji
# (surrogate pairs) among them. Lengths span 1 to 4 parts of either encoding.
_GSM_CHARS = sorted(set(_BASIC_TABLE) - {"\x1b"}) + sorted(_EXTENSION_TABLE.values()) * 4
_OTHER_CHARS = ["’", "…", "—", "\u00a0", "😀", "👍🏽", "中", "Ж", "ç", "\u200b"] * 3
_TABLES = {
    "gsm": (_GSM_CHARS, 640),
    "mixed": (_GSM_CHARS * 3 + _OTHER_CHARS, 280),
    "other": (_OTHER_CHARS, 140),
}


@st.composite
def messages(draw: st.DrawFn) -> str:
    table, longest = _TABLES[draw(st.sampled_from(sorted(_TABLES)))]
    length = draw(st.integers(0, longest))
    seed = draw(st.integers(0, 2**32 - 1))
    return "".join(random.Random(seed).choices(table, k=length))


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_segment_counts_agree_with_the_oracle(text: str) -> None:
    """Acceptance 2: 10,000 generated messages, extension characters, emoji and mixed text."""
    got = count(text)
    assert (got.encoding, got.units, got.segments) == oracle(text)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_segment_starts_cut_the_message_where_its_count_does(text: str) -> None:
    """The boundaries preview marks: one per segment, each part within a part's capacity."""
    got = count(text)
    starts = segment_starts(text)
    assert len(starts) == got.segments
    assert starts[0] == 0
    assert list(starts) == sorted(set(starts))
    if got.segments > 1:
        gsm = got.encoding == "GSM-7"
        for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
            part = text[start:end]
            if gsm:
                assert 0 < sum(septets(c) for c in part) <= 153
            else:
                assert 0 < len(part.encode("utf-16-le")) // 2 <= 67


def test_segment_starts_never_split_an_extension_character_or_an_emoji() -> None:
    assert segment_starts("a" * 152 + "€" + "b" * 10) == (0, 152)
    assert segment_starts("’" + "a" * 65 + "😀" + "b" * 10) == (0, 66)
    assert segment_starts("short") == (0,)
