"""The mobile push view: the notification as an iOS and an Android lock screen cut it. Pure.

Where each cuts (docs/preview.md says why): iOS shows a title of one line, about 50 characters,
and a body of four lines, about 178 characters (the length lint's ``push-length`` warns
beyond); Android's collapsed notification shows a title of about 65 characters and one line of
body, about 50 characters, and 240 characters once expanded. Real cuts depend on the font and
the screen's width: these are the lengths vendors of push services document.
"""

from __future__ import annotations

from reconciler.lint.push import BODY_MAX, payload_bytes
from reconciler.preview.fill import spans
from reconciler.preview.markup import attrs, esc, marked_text
from reconciler.render.wording import plural

IOS_TITLE, IOS_BODY = 50, BODY_MAX
ANDROID_TITLE, ANDROID_BODY, ANDROID_EXPANDED = 65, 50, 240


def _screen(
    platform: str, label: str, app: str, title: str, body: str, cuts: tuple[int, int]
) -> str:
    shown_title = marked_text(title, cuts[0]) if spans(title)[0] else ""
    return (
        f'<figure class="lock {platform}"><figcaption>{esc(label)}</figcaption>'
        f'<div class="notification"><div class="app">{esc(app)}<span class="when">now</span></div>'
        f'<div class="title">{shown_title}</div>'
        f'<div class="body">{marked_text(body, cuts[1])}</div></div></figure>'
    )


def push_card_body(sender: str, title: str, body: str) -> str:
    """The two lock screens and the counts; ``title`` and ``body`` are filled texts."""
    plain_title, plain_body = spans(title)[0], spans(body)[0]
    size = payload_bytes(plain_title, plain_body)
    counts = (
        f"title {plural(len(plain_title), 'character')} · body "
        f"{plural(len(plain_body), 'character')} (iOS shows {IOS_BODY}, Android {ANDROID_BODY} "
        f"collapsed and {ANDROID_EXPANDED} expanded) · payload {size:,} bytes"
    )
    expanded = marked_text(body, ANDROID_EXPANDED)
    return (
        f'<div class="lockscreens"{attrs(data_title_length=len(plain_title), data_body_length=len(plain_body))}>'
        + _screen("ios", "iOS lock screen", sender, title, body, (IOS_TITLE, IOS_BODY))
        + _screen(
            "android",
            "Android lock screen (collapsed)",
            sender,
            title,
            body,
            (ANDROID_TITLE, ANDROID_BODY),
        )
        + "</div>"
        + f'<details class="expanded"><summary>Android, expanded</summary><p>{expanded}</p></details>'
        + f'<p class="counts">{esc(counts)}</p>'
    )
