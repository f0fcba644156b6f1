"""Fields git does not own (issue 19): the ``ignore:`` rules of an environment, a document and
a communication, and the one function that decides which compared fields a communication's
rules leave to live edits. Pure: no I/O.

Plan and drift read the decision from the desired communication (``resolve`` asks
``ignored_fields``); the plan records it per key (``TargetPlan.ignored``), so apply, a saved
plan's staleness check and the fingerprint read that same answer without the manifests; export
asks ``ignored_fields`` of the file it updates. Nothing else decides what is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconciler.assumptions import COMPARED_FIELDS

IGNORABLE = COMPARED_FIELDS  # sender, subjectTemplate, messageTemplate, offsetDays, active


def written_key(entry: Mapping[str, object]) -> tuple[object, object]:
    """A communication's key as written: its type and its channel name or id (unresolved)."""
    channel = entry.get("channel")
    if channel is None:
        channel = entry.get("channelId")
    return (entry.get("communicationType"), channel)


def document_rules(rules: Sequence[object], entry: Mapping[str, object]) -> list[str]:
    """The fields a document's ``ignore:`` leaves to live edits for ``entry``: every plain
    field name, and the ``fields`` of each ``{communicationType, channel|channelId, fields}``
    item written for the entry's key."""
    fields: list[str] = []
    for rule in rules:
        if isinstance(rule, str):
            fields.append(rule)
        elif isinstance(rule, Mapping) and written_key(rule) == written_key(entry):
            fields.extend(_names(rule.get("fields")))
    return fields


def _names(listed: object) -> list[str]:
    return [name for name in listed if isinstance(name, str)] if isinstance(listed, list) else []


def ignored_fields(
    environment: Iterable[str],
    document: Sequence[object],
    entry: Mapping[str, object],
) -> tuple[str, ...]:
    """THE decision: the compared fields of the communication ``entry`` (as written, a
    mapping) that git does not own, from the environment's rules, its document's ``ignore:``
    and its own ``ignore:``; in the order of the compared fields."""
    wanted = {*environment, *document_rules(document, entry), *_names(entry.get("ignore"))}
    return tuple(name for name in IGNORABLE if name in wanted)


def without(row: Mapping[str, object], fields: Iterable[str]) -> dict[str, object]:
    """``row`` with the ignored ``fields`` left out (what a fingerprint compares)."""
    skip = set(fields)
    return {name: value for name, value in row.items() if name not in skip}


def difference_line(fields: Sequence[str], who: str | None, when: str | None) -> str:
    """The info line of ignored fields whose live value differs from the manifest's."""
    names = ", ".join(fields)
    verb = "differs" if len(fields) == 1 else "differ"
    by = f", edited by {who}" if who else ""
    on = f" on {when}" if when else ""
    return f"ignored: {names} {verb}{by}{on}"
