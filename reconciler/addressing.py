"""Which live row an upsert element reaches on an API that matches rows by key or by type instead
of by id (SPEC §9, contract ``match``): the rows such a write cannot tell apart, and a channel
move made in place. Pure: no I/O; the planner decides what to plan with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from reconciler.api.wire import Communication
from reconciler.changes import changed_fields
from reconciler.matching import key_of
from reconciler.plan import Change, Key, Snapshot
from reconciler.snapshot import FieldName

if TYPE_CHECKING:
    from reconciler.diagnostics import Diagnostic
    from reconciler.manifests import LoadedDocument

Match = Literal["id", "key", "type"]
# What a key-matching API finds a row by: its key; a type-matching one: its type alone.
Group = Key | str


def group_of(key: Key, match: Match) -> Group:
    return key.communicationType if match == "type" else key


def shared_groups(live: Sequence[Communication], match: Match) -> dict[Group, list[Communication]]:
    """The groups of live rows (active or not) that one write of their key (or type) could
    reach any of, when there is more than one; empty when the API matches by id."""
    if match == "id":
        return {}
    groups: dict[Group, list[Communication]] = defaultdict(list)
    for row in live:
        groups[group_of(key_of(row.communicationType, row.channelId), match)].append(row)
    return {group: rows for group, rows in groups.items() if len(rows) > 1}


def shared_warning(
    group: Group,
    rows: Sequence[Communication],
    left_out: Sequence[Change],
    match: Match,
    channels: Mapping[int, str],
) -> str:
    """Why no write touches ``rows``: the API would pick one of them itself."""
    ids = ", ".join(str(row.id) for row in sorted(rows, key=lambda row: row.id))
    if isinstance(group, Key):
        what, by = f"key {group.label(channels)}", "(communicationType, channelId)"
    else:
        what, by = f"communicationType {group}", "communicationType alone"
    fate = "none of them is written"
    if left_out:
        planned = ", ".join(f"{c.action} {c.key.label(channels)}" for c in left_out)
        fate = f"not planned: {planned}"
    return (
        f"{len(rows)} live communications share {what} (ids {ids}); this API matches an upsert "
        f"by {by}, not by id, so a write could land on any of them: {fate}; "
        "remove the extra ones in the UI, then plan again"
    )


def in_place_move(
    key: Key,
    after: Snapshot,
    row: Communication,
    channels: Mapping[int, str],
    source: str | None,
) -> Change:
    """A type-matching API keeps one row per type: moving it to another channel is an update of
    that row's ``channelId`` (same id), not a create and a deactivation."""
    before = Snapshot.of(row)
    fields: tuple[FieldName, ...] = ("channelId", *changed_fields(before, after))
    return Change(
        action="update",
        key=key,
        id=row.id,
        before=before,
        after=after,
        fields=fields,
        reason=f"channel move from {before.key.label(channels)}, in place (one row per type)",
        source=source,
    )


def types_declared_twice(documents: Iterable[LoadedDocument]) -> list[Diagnostic]:
    """Under ``match: type`` a target holds one communication per type: a document that
    declares a type on two channels is refused, at the second entry (acceptance 4, issue 16).
    One channel written twice is the duplicate-key rule's, reported by reading."""
    problems: list[Diagnostic] = []
    for doc in documents:
        first: dict[str, tuple[int, str]] = {}
        for index, entry in enumerate(doc.model.communications):
            kind = str(entry.communicationType)
            channel = entry.channel if entry.channel is not None else f"channelId {entry.channelId}"
            if kind not in first:
                first[kind] = (index, channel)
                continue
            at, other = first[kind]
            if other == channel:
                continue
            where = doc.where(("communications", at))
            problems.append(
                doc.diagnostic(
                    ("communications", index),
                    f"{kind} is declared on {other} (at {where}) and again on {channel}; this "
                    "API keeps one communication per communicationType on a target (contract "
                    "match: type): keep one of them",
                )
            )
    return problems
