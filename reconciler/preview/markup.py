"""HTML pieces every view shares: escaping, attributes, text with its unknown placeholders
marked, and a text cut where a screen cuts it. Every string from a manifest or a sample
profile reaches the page through ``esc``. Pure.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from reconciler.preview.fill import spans

ELLIPSIS = "\u2026"


def esc(text: object) -> str:
    """``text`` escaped for HTML content and double- or single-quoted attribute values."""
    return html.escape(str(text), quote=True)


def attrs(**values: object) -> str:
    """`` data-segments="2" …``: keyword names with ``_`` written as ``-``, values escaped."""
    return "".join(f' {name.replace("_", "-")}="{esc(value)}"' for name, value in values.items())


def unknown_mark(shown: str) -> str:
    return f'<mark class="unknown" title="no sample value">{esc(shown)}</mark>'


def marked_text(filled: str, limit: int | None = None) -> str:
    """Filled text as HTML: escaped, its unknown placeholders marked; with ``limit``, cut after
    that many characters with an ellipsis, as a lock screen cuts it."""
    plain, found = spans(filled)
    end = len(plain) if limit is None or len(plain) <= limit else limit
    out: list[str] = []
    at = 0
    for start, stop in found:
        if start >= end:
            break
        out.append(esc(plain[at:start]))
        out.append(unknown_mark(plain[start : min(stop, end)]))
        at = min(stop, end)
    out.append(esc(plain[at:end]))
    if end < len(plain):
        out.append(
            f'<span class="cut" title="cut here: {len(plain):,} characters">{ELLIPSIS}</span>'
        )
    return "".join(out)


def badge(text: str, kind: str = "") -> str:
    return f'<span class="badge {esc(kind)}">{esc(text)}</span>'


def unknown_note(names: Iterable[str]) -> str:
    names = list(names)
    if not names:
        return ""
    listed = ", ".join(f"<code>{{{{{esc(n)}}}}}</code>" for n in names)
    return f'<p class="note unknown-list">No sample value for {listed}: shown marked.</p>'


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
