"""What the page shows, target by target: each communication of the head documents and, when
base documents are given (``--changed-since``), the same communication at the base, paired by
target name and communication key, with the lines that changed. Pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from reconciler.affected import identity
from reconciler.lint.engine import channel_kind
from reconciler.lint.rules import ChannelKind

if TYPE_CHECKING:
    from reconciler.manifests import LoadedDocument

Status = Literal["current", "new", "changed", "unchanged", "removed"]


@dataclass(frozen=True)
class Communication:
    """One communication as preview reads it: the template texts, before any sample."""

    communication_type: str
    channel: str  # "EMAIL", or "channelId 2"
    kind: ChannelKind | None
    sender: str
    subject: str
    message: str
    offset_days: int
    active: bool
    source: str  # path:line:column of its entry

    @property
    def key(self) -> tuple[str, str]:
        return (self.communication_type, self.channel)

    def lines(self) -> list[str]:
        """The fields a reviewer compares, one per line; the message line by line."""
        head = [
            f"sender: {self.sender}",
            f"subject: {self.subject}",
            f"offsetDays: {self.offset_days}",
            f"active: {'true' if self.active else 'false'}",
            "message:",
        ]
        return head + [f"  {line}" for line in self.message.split("\n")]

    def same(self, other: Communication) -> bool:
        return self.lines() == other.lines()


@dataclass(frozen=True)
class Item:
    status: Status
    head: Communication | None
    base: Communication | None = None

    @property
    def shown(self) -> Communication:
        shown = self.head or self.base
        assert shown is not None
        return shown


@dataclass(frozen=True)
class TargetView:
    name: str
    source: str
    items: tuple[Item, ...]

    @property
    def changed(self) -> bool:
        return any(item.status not in ("unchanged", "current") for item in self.items)


def communications(
    document: LoadedDocument, kinds: Mapping[int, ChannelKind]
) -> list[Communication]:
    out = []
    for index, entry in enumerate(document.model.communications):
        channel = entry.channel if entry.channel is not None else f"channelId {entry.channelId}"
        out.append(
            Communication(
                communication_type=entry.communicationType,
                channel=channel,
                kind=channel_kind(entry, kinds),
                sender=entry.sender,
                subject=entry.subjectTemplate,
                message=document.message_templates[index],
                offset_days=entry.offsetDays,
                active=entry.active,
                source=document.where(("communications", index)),
            )
        )
    return out


def targets(
    head: Sequence[LoadedDocument],
    base: Sequence[LoadedDocument] | None,
    kinds: Mapping[int, ChannelKind],
) -> list[TargetView]:
    """The page's targets in the order of ``head``, then targets only ``base`` declares.

    Without ``base`` every communication is ``current``. With it, each is ``new``, ``changed``
    or ``unchanged`` against the base's communication of the same key in the base document
    of the same target (as ``--changed-since`` pairs documents: a renamed document is
    compared with its base, a document moved to another target is a release and a new one),
    and the base's communications the head no longer declares are ``removed``.
    """
    before = {identity(d): d for d in base or ()}
    out: list[TargetView] = []
    for document in head:
        name = document.model.metadata.name
        now = communications(document, kinds)
        if base is None:
            items = tuple(Item("current", c) for c in now)
        else:
            old = before.pop(identity(document), None)
            items = _paired(now, communications(old, kinds) if old is not None else [])
        out.append(TargetView(name, document.where(()), items))
    for document in before.values():
        items = tuple(Item("removed", None, c) for c in communications(document, kinds))
        out.append(TargetView(document.model.metadata.name, document.where(()), items))
    return out


def _paired(now: list[Communication], old: list[Communication]) -> tuple[Item, ...]:
    by_key = {c.key: c for c in old}
    items: list[Item] = []
    for communication in now:
        was = by_key.pop(communication.key, None)
        if was is None:
            items.append(Item("new", communication))
        elif was.same(communication):
            items.append(Item("unchanged", communication, was))
        else:
            items.append(Item("changed", communication, was))
    items.extend(Item("removed", None, c) for c in by_key.values())
    return tuple(items)


Row = tuple[str, str, str]  # (kind: same | change | add | del, before line, after line)


# Past this many line pairs difflib's matching (quadratic in repeated lines: 10,000 equal
# lines take 14 s) gives way to pairing the lines between the common head and tail in order.
DIFF_CELLS = 1_000_000


def changed_lines(before: Communication, after: Communication) -> list[Row]:
    """Side-by-side rows of the two communications' lines; changed rows are not ``same``."""
    a, b = before.lines(), after.lines()
    if len(a) * len(b) > DIFF_CELLS:
        return _in_order(a, b)
    rows: list[Row] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            rows.extend(
                ("same", a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        left, right = a[i1:i2], b[j1:j2]
        for n in range(max(len(left), len(right))):
            x = left[n] if n < len(left) else None
            y = right[n] if n < len(right) else None
            kind = "change" if x is not None and y is not None else ("del" if y is None else "add")
            rows.append((kind, x or "", y or ""))
    return rows


def _in_order(a: list[str], b: list[str]) -> list[Row]:
    """Rows of two long texts: the common first and last lines ``same``, the lines between
    paired in order (linear, where difflib's alignment would take minutes)."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    rows: list[Row] = [("same", line, line) for line in a[:head]]
    left, right = a[head : len(a) - tail], b[head : len(b) - tail]
    for n in range(max(len(left), len(right))):
        x = left[n] if n < len(left) else None
        y = right[n] if n < len(right) else None
        if x is not None and y is not None:
            rows.append(("same" if x == y else "change", x, y))
        else:
            rows.append(("del", x or "", "") if y is None else ("add", "", y))
    rows.extend(("same", line, line) for line in a[len(a) - tail :])
    return rows
