"""The SMS bubble: segments marked where lint's arithmetic cuts, UCS-2 characters shown."""

from __future__ import annotations

import re

from reconciler.lint.segments import measure
from reconciler.preview.bubbles import bubble, sms_counts, sms_view
from reconciler.preview.fill import CLOSE, OPEN


def test_a_long_message_shows_each_segment_and_where_the_next_starts() -> None:
    text = "a" * 200
    view = sms_view(text, "short")
    html = bubble(view)
    assert html.count('<span class="segment"') == 2
    assert 'title="segment 2 starts here"' in html
    assert view.sms.segments == 2
    assert view.template.segments == 1
    first = re.search(r'data-segment="1">(a+)</span>', html)
    assert first is not None
    assert len(first.group(1)) == 153


def test_the_character_that_forces_ucs2_is_highlighted_first() -> None:
    view = sms_view("It’s here — now", "It’s here — now")
    html = bubble(view)
    assert html.count('<mark class="ucs2') == 2
    assert '<mark class="ucs2 first" title="’ (U+2019) forces UCS-2">’</mark>' in html
    counts = sms_counts(view)
    assert "UCS-2" in counts
    assert "(and 1 more character) makes this SMS UCS-2" in counts


def test_an_unknown_tag_is_counted_as_written_like_lint_counts_it() -> None:
    view = sms_view(f"Hi {OPEN}nope{CLOSE}", "Hi {{nope}}")
    assert view.text == "Hi {{nope}}"
    assert view.sms == measure("Hi {{nope}}")
    assert '<mark class="unknown"' in bubble(view)
    invisible = bubble(sms_view("a\u200bb", "a\u200bb"))
    assert "&#9647;" in invisible  # an invisible character is shown as a box
