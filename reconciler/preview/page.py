"""The preview page: one self-contained HTML document (inline CSS, no script, no font, nothing
fetched) with a card per communication, target by target. Pure: returns the page as text.

``build_page(head, base=None, …)`` is the seam for before/after: ``base`` is the manifests'
documents at the base of a change (``--changed-since``); with it, changed communications show
before and after side by side with their changed lines, unchanged ones collapsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.lint.rules import ChannelKind
from reconciler.preview.bubbles import bubble, sms_attributes, sms_counts, sms_view
from reconciler.preview.compare import Communication, Item, TargetView, changed_lines, targets
from reconciler.preview.fill import fill
from reconciler.preview.mail import is_html, mail_view
from reconciler.preview.markup import attrs, badge, esc, marked_text, unknown_note
from reconciler.preview.notification import push_card_body
from reconciler.preview.samples import Sample
from reconciler.preview.style import CSS, PAGE_CSP
from reconciler.render.wording import plural

if TYPE_CHECKING:
    from reconciler.config import EnvironmentConfig
    from reconciler.manifests import LoadedDocument

_KIND_NAMES = {"sms": "SMS", "email": "EMAIL", "push": "MOBILE PUSH"}


@dataclass(frozen=True)
class PreviewOptions:
    """What the page is built with: the environment's channel map and Liquid setting, and the
    sample profile."""

    sample: Sample
    environment: str = ""
    kinds: Mapping[int, ChannelKind] = field(default_factory=dict)
    liquid: bool = False

    @classmethod
    def of(cls, name: str, env: EnvironmentConfig, sample: Sample) -> PreviewOptions:
        return cls(sample, name, env.channel_kinds(), env.liquid)


@dataclass
class Totals:
    """What the page holds, for its header and the one line ``preview`` prints."""

    targets: int = 0
    communications: int = 0
    sms: int = 0
    segments: int = 0
    ucs2: int = 0
    largest: int = 0
    changed: int = 0

    def line(self) -> str:
        sms = (
            f"; SMS: {plural(self.sms, 'message')}, {plural(self.segments, 'segment')}"
            f" (largest {self.largest}, {self.ucs2} UCS-2)"
            if self.sms
            else "; no SMS"
        )
        return (
            f"{plural(self.communications, 'communication')} in "
            f"{plural(self.targets, 'target')}{sms}"
        )


def build_page(
    head: Sequence[LoadedDocument],
    base: Sequence[LoadedDocument] | None = None,
    *,
    options: PreviewOptions,
) -> tuple[str, Totals]:
    """The page for ``head`` (and, with ``base``, before/after), and what it holds."""
    views = targets(head, base, options.kinds)
    totals = Totals(targets=len(views))
    sections = [_target(view, options, totals, compared=base is not None) for view in views]
    sample = options.sample
    changed = f" · {plural(totals.changed, 'changed communication')}" if base is not None else ""
    header = (
        f'<header class="page"><h1>Message preview</h1><p class="counts">'
        f"{esc(totals.line())} · environment <b>{esc(options.environment or 'sandbox')}</b> · "
        f"sample <b>{esc(sample.name)}</b>"
        f"{' · Liquid on' if options.liquid else ''}"
        f"{changed}"
        "</p></header>"
    )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{PAGE_CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>reconciler preview</title><style>{CSS}</style></head><body{attrs(data_communications=totals.communications)}>"
        f"{header}<main>{''.join(sections)}</main></body></html>\n"
    )
    return page, totals


def _target(view: TargetView, options: PreviewOptions, totals: Totals, *, compared: bool) -> str:
    parts = []
    for item in view.items:
        totals.communications += 1
        parts.append(_item(item, options, totals))
    state = "changed" if view.changed else ("unchanged" if compared else "current")
    return (
        f'<section class="target"{attrs(data_target=view.name, data_state=state)}>'
        f'<h2>{esc(view.name)}</h2><p class="where">{esc(view.source)}</p>'
        f'<div class="cards">{"".join(parts)}</div></section>'
    )


def _item(item: Item, options: PreviewOptions, totals: Totals) -> str:
    if item.status == "unchanged":
        assert item.head is not None
        head = item.head
        return (
            f'<details class="unchanged"{attrs(data_status="unchanged")}><summary>'
            f"{esc(head.communication_type)} · {esc(_channel_name(head))}: unchanged</summary>"
            f'<div class="cards">{card(head, options, totals)}</div></details>'
        )
    if item.status == "changed":
        assert item.head is not None
        assert item.base is not None
        totals.changed += 1
        rows = "".join(
            f'<tr class="{kind}"><td class="before">{esc(a)}</td><td class="after">{esc(b)}</td></tr>'
            for kind, a, b in changed_lines(item.base, item.head)
        )
        return (
            f'<div class="changeset"{attrs(data_status="changed")}><div class="compare">'
            f'<div class="side before"><h4>before</h4>{card(item.base, options, None, "before")}</div>'
            f'<div class="side after"><h4>after</h4>{card(item.head, options, totals, "after")}</div>'
            f'</div><table class="diff"><thead><tr><th>before</th><th>after</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    if item.status == "removed":
        totals.changed += 1
        return card(item.shown, options, None, "removed")
    if item.status == "new":
        totals.changed += 1
    return card(item.shown, options, totals, item.status)


def _channel_name(c: Communication) -> str:
    return (
        _KIND_NAMES.get(c.kind or "", c.channel) if c.channel.startswith("channelId") else c.channel
    )


def card(
    c: Communication, options: PreviewOptions, totals: Totals | None, side: str = "current"
) -> str:
    """One communication's card; ``totals`` counts it (None for a before or removed side)."""
    values = options.sample.values
    liquid = options.liquid
    extra = ""
    unknown: list[str] = []
    errors: list[str] = []
    if c.kind == "sms":
        filled = fill(c.message, values, liquid=liquid, escape=False)
        view = sms_view(filled.text, c.message)
        if totals is not None and c.active:
            totals.sms += 1
            totals.segments += view.sms.segments
            totals.largest = max(totals.largest, view.sms.segments)
            totals.ucs2 += view.sms.encoding == "UCS-2"
        extra = sms_attributes(view)
        body = (
            f'<dl class="headers"><dt>From</dt><dd>{esc(c.sender)}</dd></dl>'
            f'<div class="phone"><div class="bubble">{bubble(view)}</div></div>{sms_counts(view)}'
        )
        unknown, errors = list(filled.unknown), [filled.error or ""]
    elif c.kind == "email":
        subject = fill(c.subject, values, liquid=liquid, escape=False)
        html_body = is_html(c.message)
        message = fill(c.message, values, liquid=liquid, escape=html_body)
        mail = mail_view(message.text, html_body=html_body)
        extra = attrs(data_images=len(mail.images))
        images = "".join(f"<li><code>{marked_text(url)}</code></li>" for url in mail.images)
        listed = (
            f'<details class="images" open><summary>{plural(len(mail.images), "image")} not '
            f"loaded (shown as placeholders)</summary><ul>{images}</ul></details>"
            if mail.images
            else ""
        )
        body = (
            f'<dl class="headers"><dt>From</dt><dd>{esc(c.sender)}</dd><dt>Subject</dt>'
            f'<dd class="subject">{marked_text(subject.text)}</dd></dl>'
            f'<iframe class="body" sandbox="" referrerpolicy="no-referrer" loading="lazy" '
            f'title="email body" srcdoc="{esc(mail.srcdoc)}"></iframe>{listed}'
            f'<details class="plain"><summary>Plain-text view</summary>'
            f'<pre class="plain">{marked_text(mail.plain)}</pre></details>'
        )
        unknown = list(dict.fromkeys([*subject.unknown, *message.unknown]))
        errors = [subject.error or "", message.error or ""]
    elif c.kind == "push":
        title = fill(c.subject, values, liquid=liquid, escape=False)
        message = fill(c.message, values, liquid=liquid, escape=False)
        body = push_card_body(c.sender, title.text, message.text)
        unknown = list(dict.fromkeys([*title.unknown, *message.unknown]))
        errors = [title.error or "", message.error or ""]
    else:
        subject = fill(c.subject, values, liquid=liquid, escape=False)
        message = fill(c.message, values, liquid=liquid, escape=False)
        body = (
            f'<p class="note">{esc(c.channel)} is not mapped to sms, email or push in this '
            "environment's <code>channels:</code>: shown as text.</p>"
            f'<dl class="headers"><dt>From</dt><dd>{esc(c.sender)}</dd><dt>Subject</dt>'
            f"<dd>{marked_text(subject.text)}</dd></dl>"
            f'<pre class="plain">{marked_text(message.text)}</pre>'
        )
        unknown = list(dict.fromkeys([*subject.unknown, *message.unknown]))
    badges = badge(c.communication_type) + badge(_channel_name(c))
    if c.offset_days:
        badges += badge(f"+{plural(c.offset_days, 'day')}")
    if not c.active:
        badges += badge("inactive: not sent", "inactive")
    if side in ("new", "removed"):
        badges += badge(side, side)
    problems = "".join(
        f'<p class="note">Liquid cannot render this template ({esc(e)}); placeholders were '
        "filled one by one.</p>"
        for e in errors
        if e
    )
    kind = c.kind or "other"
    return (
        f'<article class="card {kind}"'
        f"{attrs(data_kind=kind, data_type=c.communication_type, data_side=side)}"
        f"{attrs(data_source=c.source)}{extra}>"
        f"<h3>{badges}</h3>{body}{unknown_note(unknown)}{problems}"
        f'<p class="where">{esc(c.source)}</p></article>'
    )
