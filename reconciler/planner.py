"""The pure planner of SPEC §4: (desired, live) -> TargetPlan / Plan, and a simulator of the upsert.

No I/O: live state arrives already read (or as a ReadFailure); nothing here calls the API.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar, cast

from reconciler.api.wire import Attribution, Communication, CommunicationWrite, format_timestamp
from reconciler.assumptions import COMMUNICATION_TYPES, COMPARED_FIELDS
from reconciler.desired import DesiredCommunication, DesiredTarget
from reconciler.errors import PlanError
from reconciler.plan import (
    REASON_DUPLICATE,
    REASON_INACTIVE_NOT_LIVE,
    REASON_PRUNE,
    REASON_REACTIVATION,
    Action,
    Author,
    Change,
    FieldName,
    Key,
    Plan,
    Snapshot,
    TargetPlan,
    fingerprint,
)
from reconciler.textnorm import TEXT_FIELDS, explain

# Fixed change order within a target: by communication type (SPEC order, unknown types
# after), then deactivations before creates so that a channel move's "-" and "+" sit together.
_TYPE_ORDER = {name: index for index, name in enumerate(COMMUNICATION_TYPES)}
_ACTION_ORDER: dict[Action, int] = {"deactivate": 0, "create": 1, "update": 2, "noop": 3}

# Issue 9: a plan of 10,000 targets repeats a handful of keys and authors 40,000 times; each
# distinct one is built once and shared (they are frozen). At most this many of each are kept.
_SHARED_LIMIT = 4096
_K = TypeVar("_K")
_V = TypeVar("_V")
_keys: dict[tuple[str, int], Key] = {}
_authors: dict[tuple[str | None, str | None], Author] = {}


@dataclass(frozen=True)
class ReadFailure:
    """Reading a target's communications failed; the planner plans nothing for it."""

    message: str


LiveRead = Sequence[Communication] | ReadFailure


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


def plan_target(
    desired: DesiredTarget,
    live: Sequence[Communication],
    *,
    channels: Mapping[int, str] | None = None,
) -> TargetPlan:
    """Plan one target: match by key, diff compared fields, prune, handle live duplicates."""
    names = channels or {}
    declared: dict[Key, DesiredCommunication] = {}
    for wanted in desired.communications:
        key = _key(wanted.communicationType, wanted.channelId)
        if key in declared:
            raise PlanError(f"{desired.name}: {key.label(names)} is declared twice")
        declared[key] = wanted
    by_key: dict[Key, list[Communication]] = defaultdict(list)
    unmanaged: list[tuple[Communication, str]] = []
    for comm in live:
        why = unmanaged_reason(comm, channels)
        if why is not None:
            unmanaged.append((comm, why))
        else:
            by_key[_key(comm.communicationType, comm.channelId)].append(comm)

    changes: list[Change] = []
    warnings: list[str] = []
    for key, wanted in declared.items():
        match, others = _pick(by_key.get(key, []))
        changes.append(_plan_declared(key, wanted, match, names, warnings))
        # A declared key has exactly one active row (SPEC §4): the other active duplicates
        # are deactivated whatever ``prune`` says; prune concerns undeclared keys only.
        changes.extend(_deactivate(c, REASON_DUPLICATE) for c in others)
        if match is not None and others:
            warnings.append(_duplicate_warning(key, match, others, names))
    for comm, why in sorted(unmanaged, key=lambda pair: pair[0].id):
        warnings.append(f"not managed: {why} (id {comm.id}); left as it is")
    for key in sorted(set(by_key) - set(declared), key=_key_order):
        active = sorted((c for c in by_key[key] if c.active), key=lambda c: c.id)
        if len(active) > 1:
            ids = ", ".join(str(c.id) for c in active)
            fate = "all are planned for deactivation" if desired.prune else "kept (prune: false)"
            warnings.append(
                f"{len(active)} active live communications share key {key.label(names)} "
                f"(ids {ids}), which no manifest declares; {fate}"
            )
        if desired.prune:
            changes.extend(_deactivate(c, REASON_PRUNE) for c in active)
    return TargetPlan(
        **_identity(desired),
        fingerprint=fingerprint(live),
        activeLive=sum(1 for c in live if c.active) - sum(1 for c, _ in unmanaged if c.active),
        warnings=tuple(warnings),
        changes=tuple(sorted(_label_moves(changes, names), key=_change_order)),
    )


def unmanaged_reason(comm: Communication, channels: Mapping[int, str] | None) -> str | None:
    """Why no manifest could declare ``comm`` (SPEC §4: prune never touches it), or None.

    A manifest names a type of the schema's enum and a channel of the channel list (by name or
    id); ``channels`` is that list, or None when it is not known (then every channel counts).
    """
    kind, channel = comm.communicationType, comm.channelId
    if kind not in _TYPE_ORDER:
        name = (channels or {}).get(channel)
        where = f"{name} (channelId {channel})" if name else f"channelId {channel}"
        return f"unknown type {_shown(kind)} on {where}"
    if channels is not None and channel not in channels:
        return f"unknown channel id {channel} for {kind}, not in the channel list"
    return None


def _shown(text: str) -> str:
    """A server-chosen type name, printable on one line."""
    if text.isprintable() and text.strip() == text and text:
        return text
    return json.dumps(text, ensure_ascii=True)


def _key(communication_type: str, channel_id: int) -> Key:
    if type(communication_type) is not str or type(channel_id) is not int:
        return Key(communicationType=communication_type, channelId=channel_id)  # validates
    return _shared(
        _keys,
        (communication_type, channel_id),
        lambda: Key(communicationType=communication_type, channelId=channel_id),
    )


def _identity(desired: DesiredTarget) -> dict[str, str | int]:
    """The fields that name a target in a plan, the same for readable and unreadable ones."""
    return {
        "targetGroupId": desired.targetGroupId,
        "targetId": desired.targetId,
        "targetGroupName": desired.targetGroupName,
        "targetName": desired.targetName,
        "manifest": desired.source.path,
        "name": desired.name,
    }


def unreadable_target(desired: DesiredTarget, message: str) -> TargetPlan:
    """A target whose live state could not be read: no changes at all (SPEC §4)."""
    return TargetPlan(
        **_identity(desired),
        readable=False,
        error=message,
    )


def make_plan(
    desired: Sequence[DesiredTarget],
    live: Mapping[tuple[int, int], LiveRead],
    environment: str,
    generated_at: datetime,
    *,
    channels: Mapping[int, str] | None = None,
    warnings: Sequence[str] = (),
) -> Plan:
    """Plan exactly the desired targets; a target missing from ``live`` counts as unreadable."""
    seen: dict[tuple[int, int], DesiredTarget] = {}
    for target in desired:
        if target.ref in seen:
            raise PlanError(
                f"target {target.targetGroupId}/{target.targetId} is declared by both "
                f"{seen[target.ref].name} and {target.name}"
            )
        seen[target.ref] = target
    planned = []
    for ref in sorted(seen):
        read = live.get(ref, ReadFailure("live state was not read"))
        if isinstance(read, ReadFailure):
            planned.append(unreadable_target(seen[ref], read.message))
        else:
            planned.append(plan_target(seen[ref], read, channels=channels))
    return Plan(
        environment=environment,
        generatedAt=_utc(generated_at),
        targets=tuple(planned),
        warnings=tuple(warnings),
        channels=dict(channels or {}),
    )


def apply_writes(
    live: Sequence[Communication],
    writes: Sequence[CommunicationWrite],
    *,
    target_group_id: int | None = None,
    target_id: int | None = None,
    now: datetime | None = None,
) -> list[Communication]:
    """What an upsert does to a target's state (SPEC §2 assumptions), for tests and recovery.

    Elements with ``id`` overwrite that communication's fields; without ``id`` they insert one
    with the next free id. With ``now``, written communications get it as ``lastUpdatedOn``
    as the server would; otherwise attribution is kept on updates and absent on inserts.
    """
    state = {comm.id: comm for comm in live}
    next_id = max(state, default=0) + 1
    for write in writes:
        fields: dict[str, object] = write.model_dump(exclude={"id"})
        if write.id is None:
            if now is not None:
                fields["attribution"] = Attribution(createdOn=now, lastUpdatedOn=now)
            state[next_id] = Communication.model_validate(
                {"id": next_id, "targetGroupId": target_group_id, "targetId": target_id, **fields}
            )
            next_id += 1
        elif write.id in state:
            old = state[write.id]
            if now is not None:
                stamp = (old.attribution or Attribution()).model_copy(update={"lastUpdatedOn": now})
                fields["attribution"] = stamp
            state[write.id] = old.model_copy(update=fields)
        else:
            raise PlanError(f"upsert names communication id {write.id}, which does not exist")
    return [state[key] for key in sorted(state)]


def _plan_declared(
    key: Key,
    wanted: DesiredCommunication,
    match: Communication | None,
    channels: Mapping[int, str],
    warnings: list[str],
) -> Change:
    source = wanted.source.render() or None
    if not wanted.active:
        # Declared inactive is satisfied by "no active communication with this key": an
        # inactive one is left as it is (its templates send nothing), none is created.
        if match is not None and match.active:
            return _deactivate(match, None, source)
        return _noop(key, match, source, None if match is not None else REASON_INACTIVE_NOT_LIVE)
    if match is not None and _unchanged(wanted, match):
        return _noop(key, match, source)
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
        reason=REASON_REACTIVATION if fields and not match.active else None,
        source=source,
        **_attribution(match),
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
    key: Key, match: Communication | None, source: str | None, reason: str | None = None
) -> Change:
    """Nothing to do for ``key``: before and after are one snapshot (issue 9: one object, not
    two equal ones, per noop). Consistent by construction (same key, no fields, before is after),
    so it is built without validation."""
    snapshot = Snapshot.of(match) if match is not None else None
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


def _deactivate(comm: Communication, reason: str | None, source: str | None = None) -> Change:
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
    if not all(value is None or type(value) is str for value in (name, code)):
        return Author(name=name, code=code)  # validates
    return _shared(_authors, (name, code), lambda: Author(name=name, code=code))


def _shared(cache: dict[_K, _V], key: _K, make: Callable[[], _V]) -> _V:
    """One frozen instance per distinct value, for the first ``_SHARED_LIMIT`` values."""
    found = cache.get(key)
    if found is None:
        found = make()
        if len(cache) < _SHARED_LIMIT:
            cache[key] = found
    return found


def pick_match(
    candidates: Sequence[Communication],
) -> tuple[Communication | None, list[Communication]]:
    """The live match among communications sharing a key, and the other active ones (SPEC §4);
    the applier uses the same rule to keep one row of a declared key."""
    return _pick(candidates)


def _pick(candidates: Sequence[Communication]) -> tuple[Communication | None, list[Communication]]:
    """The live match for a key and the other *active* communications sharing it.

    The match is the most recently updated active one (higher id breaks ties); with no active
    one, the most recently updated inactive one, which an update then re-activates.
    """
    if len(candidates) == 1:  # the common case (issue 9)
        return candidates[0], []
    active = sorted((c for c in candidates if c.active), key=_recency)
    if active:
        return active[-1], active[:-1]
    if candidates:
        return max(candidates, key=_recency), []
    return None, []


def _recency(comm: Communication) -> tuple[float, int]:
    when = comm.attribution.lastUpdatedOn if comm.attribution else None
    if when is None:
        return (-math.inf, comm.id)
    if when.tzinfo is None:  # a naive timestamp is read as UTC, never as local time
        when = when.replace(tzinfo=UTC)
    return (when.timestamp(), comm.id)


def _duplicate_warning(
    key: Key,
    match: Communication,
    others: Sequence[Communication],
    channels: Mapping[int, str],
) -> str:
    ids = ", ".join(str(c.id) for c in sorted([match, *others], key=lambda c: c.id))
    return (
        f"{len(others) + 1} active live communications share key {key.label(channels)} "
        f"(ids {ids}); id {match.id} is the most recently updated, the others are planned "
        "for deactivation"
    )


def _label_moves(changes: list[Change], channels: Mapping[int, str]) -> list[Change]:
    """Name a lone create and a lone (non-duplicate) deactivate of one type a channel move."""
    result = list(changes)
    by_type: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, change in enumerate(changes):
        if change.action == "create" or (
            change.action == "deactivate" and change.reason != REASON_DUPLICATE
        ):
            by_type[change.key.communicationType][change.action].append(index)
    for actions in by_type.values():
        if len(actions["create"]) == 1 and len(actions["deactivate"]) == 1:
            new, old = actions["create"][0], actions["deactivate"][0]
            to, frm = changes[new].key.label(channels), changes[old].key.label(channels)
            result[new] = changes[new].model_copy(update={"reason": f"channel move from {frm}"})
            result[old] = changes[old].model_copy(update={"reason": f"channel move to {to}"})
    return result


def _key_order(key: Key) -> tuple[int, str, int]:
    typ = key.communicationType
    return (_TYPE_ORDER.get(typ, len(_TYPE_ORDER)), typ, key.channelId)


def _change_order(change: Change) -> tuple[int, str, int, int, int]:
    typ, name, channel = _key_order(change.key)
    return (typ, name, _ACTION_ORDER[change.action], channel, change.id or 0)


@lru_cache(maxsize=4)  # a run plans each target with the same moment (issue 9)
def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
