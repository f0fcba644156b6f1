"""SMS rules over ``sms`` arithmetic: encoding, segments, subject and sender, and the
``segments 1 → 3 (UCS-2: \u2019 at column 41)`` note plans show. Pure.

A placeholder counts as many characters as it is written with (``{{first_name}}``: 14), and
its braces are not charged as extension characters: they are never sent.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.lint.placeholders import masked
from reconciler.lint.rules import Finding
from reconciler.lint.senders import sms_sender_problem
from reconciler.lint.sms import (
    REPLACEMENTS,
    SmsCount,
    count,
    describe_char,
    gsm7_fixed,
)

DEFAULT_MAX_SEGMENTS = 3


def measure(text: str) -> SmsCount:
    """How a template travels as SMS (placeholders as written, their braces free)."""
    return count(masked(text))


def sms_findings(
    sender: str, subject: str, message: str, max_segments: int = DEFAULT_MAX_SEGMENTS
) -> Iterator[Finding]:
    problem = sms_sender_problem(sender)
    if problem is not None:
        yield Finding("sms-sender", problem, "sender")
    if subject.strip():
        yield Finding(
            "sms-subject", "SMS has no subject: subjectTemplate is not sent", "subjectTemplate"
        )
    sms = measure(message)
    if sms.first_ucs2 is not None:
        yield _encoding(message, sms)
    shape = f"{sms.units} {'septets' if sms.encoding == 'GSM-7' else 'UCS-2 code units'}"
    if sms.segments > max_segments:
        yield Finding(
            "sms-segments",
            f"SMS needs {sms.segments} segments ({shape}), above maxSegments {max_segments}",
            "messageTemplate",
        )
    elif sms.segments > 1:
        single = 160 if sms.encoding == "GSM-7" else 70
        yield Finding(
            "sms-multipart",
            f"SMS needs {sms.segments} segments ({shape}; one segment holds {single})",
            "messageTemplate",
        )


def _encoding(message: str, sms: SmsCount) -> Finding:
    assert sms.first_ucs2 is not None
    char = message[sms.first_ucs2]
    others = sms.ucs2_chars - 1
    more = f" (and {others} more character{'s' if others != 1 else ''})" if others else ""
    text = (
        f"{describe_char(char)}{more} makes this SMS UCS-2: {sms.segments} "
        f"segment{'s' if sms.segments != 1 else ''} of {sms.per_segment} characters"
    )
    fixed = gsm7_fixed(message)
    if fixed is not None:
        gsm = measure(fixed)
        replacement = REPLACEMENTS[char]
        shown = repr(replacement) if replacement else "nothing"
        fix = (
            f"replace {describe_char(char)} with {shown} (reconciler lint --fix): GSM-7, "
            f"{gsm.segments} segment{'s' if gsm.segments != 1 else ''}"
        )
    elif char in REPLACEMENTS:
        fix = "replace the typographic characters; others have no GSM-7 equivalent"
    else:
        fix = f"{describe_char(char)} has no GSM-7 equivalent: keep UCS-2 or reword"
    return Finding("sms-encoding", text, "messageTemplate", sms.first_ucs2, fix)


def column_of(text: str, index: int) -> str:
    """``column 41`` (or ``line 2, column 5`` past the first line) of ``index`` in ``text``."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"column {column}" if line == 1 else f"line {line}, column {column}"


def segments_note(before: str | None, after: str) -> str:
    """``segments 1 → 3 (UCS-2: \u2019 at column 41)``, or ``segments 1`` for a new message."""
    new = measure(after)
    shown = f"{new.segments}" if before is None else f"{measure(before).segments} → {new.segments}"
    if new.first_ucs2 is None:
        return f"segments {shown}"
    char = describe_char(after[new.first_ucs2]).split(" (")[0]
    return f"segments {shown} (UCS-2: {char} at {column_of(after, new.first_ucs2)})"
