"""Push notifications cut where iOS and Android lock screens cut them."""

from __future__ import annotations

import re

from reconciler.preview.notification import push_card_body


def _bodies(html: str) -> list[str]:
    return re.findall(r'<div class="body">(.*?)</div>', html)


def test_each_lock_screen_cuts_the_body_at_its_length() -> None:
    body = "x" * 300
    html = push_card_body("NW", "T" * 70, body)
    ios, android = _bodies(html)
    assert ios.startswith("x" * 178 + '<span class="cut"')
    assert "x" * 179 not in ios
    assert android.startswith("x" * 50 + '<span class="cut"')
    assert "x" * 51 not in android
    titles = re.findall(r'<div class="title">(.*?)</div>', html)
    assert titles[0].startswith("T" * 50 + "<span")
    assert titles[1].startswith("T" * 65 + "<span")
    assert 'data-body-length="300"' in html
    assert "payload" in html


def test_a_short_notification_is_shown_whole() -> None:
    html = push_card_body("NW", "Hi", "Short")
    assert _bodies(html) == ["Short", "Short"]
    assert 'class="cut"' not in html
