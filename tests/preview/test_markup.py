"""Shared HTML pieces: escaping and text cut where a screen cuts it."""

from __future__ import annotations

from reconciler.preview.fill import CLOSE, OPEN
from reconciler.preview.markup import attrs, esc, marked_text


def test_esc_and_attrs_escape_quotes_and_markup() -> None:
    assert esc("<a href='x'>\"&") == "&lt;a href=&#x27;x&#x27;&gt;&quot;&amp;"
    assert attrs(data_x='"><script>') == ' data-x="&quot;&gt;&lt;script&gt;"'


def test_marked_text_marks_unknown_tags_and_cuts_with_an_ellipsis() -> None:
    text = f"Hi {OPEN}name{CLOSE} <b>"
    assert marked_text(text) == (
        'Hi <mark class="unknown" title="no sample value">{{name}}</mark> &lt;b&gt;'
    )
    cut = marked_text("abcdefghij", 4)
    assert cut.startswith('abcd<span class="cut"')
    assert "efg" not in cut
    assert marked_text("abcd", 4) == "abcd"
