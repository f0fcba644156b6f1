"""The Change for one key (SPEC §4): a declared communication against its live match, and the
deactivation of a live row. Pure: no I/O. Unchanged keys take a lean path (issue 9)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import cast

from reconciler.api.wire import Communication, format_timestamp
from reconciler.assumptions import COMPARED_FIELDS
from reconciler.desired import DesiredCommunication
from reconciler.ignore import difference_line
from reconciler.matching import SHARED_LIMIT
from reconciler.plan import (
    REASON_INACTIVE_NOT_LIVE,
    REASON_REACTIVATION,
    Author,
    Change,
    FieldName,
    Key,
    Snapshot,
)
from reconciler.textnorm import TEXT_FIELDS, explain


def changed_fields(before: Snapshot, after: Snapshot) -> tuple[FieldName, ...]:
    """The compared fields (SPEC §4) whose values differ, in the SPEC's order."""
    old, new = before.compared(), after.compared()
    if old == new and all(type(old[k]) is type(new[k]) for k in old):
        return ()  # the common case; deepdiff is for the differing few
    # deepdiff also reports type changes (True vs 1), which plain == would hide. Imported here:
    # most runs never need it, and it costs start-up time (issue 9).
    from deepdiff import DeepDiff

    differing = set(DeepDiff(old, new).affected_root_keys)
    return tuple(cast(FieldName, name) for name in COMPARED_FIELDS if name in differing)


def declared_change(
    key: Key,
    wanted: DesiredCommunication,
    match: Communication | None,
    channels: Mapping[int, str],
    warnings: list[str],
    info: list[str] | None = None,
) -> Change:
    """What the declared ``wanted`` needs given its live ``match`` (None: no live row has its
    key); a live text that is the manifest's after normalisation adds a warning, no change.

    Fields ``wanted.ignore`` names take the match's value (a create still writes the
    manifest's): never a change, never written; where they differ, ``info`` gets a line.
    """
    source = wanted.source.render() or None
    if match is not None and wanted.ignore:
        differing = [n for n in wanted.ignore if getattr(wanted, n) != getattr(match, n)]
        if differing and info is not None:
            info.append(f"{key.label(channels)}, id {match.id}: {_ignored_line(differing, match)}")
        wanted = replace(wanted, **{name: getattr(match, name) for name in wanted.ignore})
    if not wanted.active and "active" not in wanted.ignore:
        # Declared inactive is satisfied by "no active communication with this key": an
        # inactive one is left as it is (its templates send nothing), none is created. (A row
        # switched off live whose ``active`` is ignored is not declared inactive: git still
        # owns its other fields.)
        if match is not None and match.active:
            return deactivation(match, None, source)
        return _noop(key, match, source, None if match is not None else REASON_INACTIVE_NOT_LIVE)
    if match is not None and _unchanged(wanted, match):
        return _noop(key, match, source, like=wanted)
    after = Snapshot.of(wanted)
    if match is None:
        every = cast(tuple[FieldName, ...], COMPARED_FIELDS)  # a create sets every field
        return Change(action="create", key=key, after=after, fields=every, source=source)
    before = Snapshot.of(match)
    fields = changed_fields(before, after)
    normalised = _normalised_fields(wanted, match, fields)
    if normalised:
        # The live text is the manifest's after the server's normalisation: resending it would
        # be normalised again on every run. Unchanged, with a warning saying so (issue 14).
        for name, how in normalised.items():
            warnings.append(
                f"{key.label(channels)}: the live {name} is the manifest's with {how}, as the "
                f"API stores it; not planned as a change (write it that way in the manifest "
                "to silence this warning)"
            )
        after = after.model_copy(update={name: getattr(match, name) for name in normalised})
        fields = tuple(name for name in fields if name not in normalised)
        if not fields:
            return _noop(key, match, source)
    return Change(
        action="update" if fields else "noop",
        key=key,
        id=match.id,
        before=before,
        after=after,
        fields=fields,
        reason=REASON_REACTIVATION if fields and not match.active and wanted.active else None,
        source=source,
        **_attribution(match),
    )


def deactivation(comm: Communication, reason: str | None, source: str | None = None) -> Change:
    """Only ``active`` changes: a deactivation never rewrites templates."""
    before = Snapshot.of(comm)
    return Change(
        action="deactivate",
        key=before.key,
        id=comm.id,
        before=before,
        after=before.model_copy(update={"active": False}),
        fields=("active",),
        reason=reason,
        source=source,
        **_attribution(comm),
    )


def _normalised_fields(
    wanted: DesiredCommunication, match: Communication, fields: Sequence[FieldName]
) -> dict[str, str]:
    """The changed text fields whose live value is the wanted one after a server's
    normalisation (``textnorm``), each with how it was normalised."""
    found: dict[str, str] = {}
    for name in fields:
        if name in TEXT_FIELDS:
            how = explain(getattr(wanted, name), getattr(match, name))
            if how is not None:
                found[name] = how
    return found


def _unchanged(wanted: DesiredCommunication, match: Communication) -> bool:
    """Whether the match already has the wanted compared values, of the same types: the common
    case, decided without building the wanted snapshot or diffing (issue 9)."""
    for name in COMPARED_FIELDS:
        old, new = getattr(match, name), getattr(wanted, name)
        if type(old) is not type(new) or old != new:
            return False
    return True


def _noop(
    key: Key,
    match: Communication | None,
    source: str | None,
    reason: str | None = None,
    *,
    like: DesiredCommunication | None = None,
) -> Change:
    """Nothing to do for ``key``: before and after are one snapshot (issue 9: one object, not
    two equal ones, per noop). Consistent by construction (same key, no fields, before is after),
    so it is built without validation.

    ``like``: the declared communication the match already equals, field for field and type for
    type. The snapshot then holds the manifest's strings, which the run keeps anyway, and the
    answer's copies can go at once (issue 21: 12 MB less at 10,000 targets)."""
    source_of: Communication | DesiredCommunication | None = match
    if like is not None and match is not None and _same_key(like, match):
        source_of = like
    snapshot = Snapshot.of(source_of) if source_of is not None else None
    return Change.trusted(
        action="noop",
        key=key,
        id=match.id if match is not None else None,
        before=snapshot,
        after=snapshot,
        reason=reason,
        source=source,
        **(_attribution(match) if match is not None else {}),
    )


def _ignored_line(fields: Sequence[str], match: Communication) -> str:
    found = _attribution(match)
    author = found.get("lastUpdatedBy")
    who = (author.name or author.code) if isinstance(author, Author) else None
    when = found.get("lastUpdatedOn")
    return difference_line(fields, who, when if isinstance(when, str) else None)


def _same_key(wanted: DesiredCommunication, match: Communication) -> bool:
    return (
        type(match.communicationType) is str
        and match.communicationType == wanted.communicationType
        and type(match.channelId) is int
        and match.channelId == wanted.channelId
    )


def _attribution(comm: Communication) -> dict[str, Author | str | None]:
    attribution = comm.attribution
    if attribution is None:
        return {}
    actor = attribution.lastUpdatedBy
    when = attribution.lastUpdatedOn
    return {
        "lastUpdatedBy": _author(actor.name, actor.code) if actor else None,
        "lastUpdatedOn": format_timestamp(when) if when else None,
    }


def _author(name: str | None, code: str | None) -> Author:
    """One shared instance per distinct author (issue 9), as ``matching.key_of`` for keys."""
    if not all(value is None or type(value) is str for value in (name, code)):
        return Author(name=name, code=code)  # validates
    return _shared_author(name, code)


@lru_cache(maxsize=SHARED_LIMIT)
def _shared_author(name: str | None, code: str | None) -> Author:
    return Author(name=name, code=code)
