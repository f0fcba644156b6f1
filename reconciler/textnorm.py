"""Text normalisations a server may apply to what it stores (issue 14 item 5).

Some servers store text not quite as sent: CRLF becomes LF, trailing whitespace goes. Such a
server is not wrong in a way apply can fix: resending the manifest's text would be normalised
again, on every run. So the post-write check reports it once, naming the field and the
difference, and the planner treats a live value that is exactly the manifest's value after
one of these normalisations as unchanged (with a warning saying so). Any other difference is a
real one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from itertools import combinations

TEXT_FIELDS = ("sender", "subjectTemplate", "messageTemplate")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _rstrip_lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _squashed(text: str) -> str:
    """``text`` without any whitespace, in NFC: what no normalisation here changes."""
    return "".join(_nfc(text).split())


# In the order a server would most plausibly apply them; every subset is tried in this order,
# fewest first, so the simplest description wins (a single line: "trailing whitespace removed").
NORMALISATIONS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("CRLF line endings converted to LF", _crlf),
    ("Unicode normalised to NFC", _nfc),
    ("trailing whitespace removed", str.rstrip),
    ("trailing whitespace removed from each line", _rstrip_lines),
    ("leading whitespace removed", str.lstrip),
)


def explain(sent: str, stored: str) -> str | None:
    """How ``stored`` is ``sent`` after a server's normalisation (``"trailing whitespace
    removed"``), using the fewest normalisations; None when it is not (or they are equal)."""
    if sent == stored or type(sent) is not str or type(stored) is not str:
        return None
    if _squashed(sent) != _squashed(stored):
        return None  # they differ in more than whitespace and composition: the common case
    steps = range(len(NORMALISATIONS))
    for size in range(1, len(NORMALISATIONS) + 1):
        for chosen in combinations(steps, size):
            text = sent
            for index in chosen:
                text = NORMALISATIONS[index][1](text)
            if text == stored:
                return " and ".join(NORMALISATIONS[index][0] for index in chosen)
    return None
