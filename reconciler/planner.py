"""The pure planner of SPEC §4: (desired, live) -> TargetPlan per target; a Plan assembles them.

No I/O: live state arrives already read (or as a ReadFailure); nothing here calls the API.
``matching`` chooses the live rows, ``changes`` builds each key's Change; this module orders
them, prunes, words the warnings and names channel moves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from reconciler.addressing import Group, group_of, in_place_move, shared_groups, shared_warning
from reconciler.api.wire import Communication
from reconciler.assumptions import COMMUNICATION_TYPES
from reconciler.changes import changed_fields as changed_fields
from reconciler.changes import deactivation, declared_change
from reconciler.contract import Contract
from reconciler.desired import DesiredCommunication, DesiredTarget
from reconciler.matching import group_by_key, key_of
from reconciler.matching import pick_match as pick_match
from reconciler.matching import unmanaged_reason as unmanaged_reason
from reconciler.plan import (
    REASON_DUPLICATE,
    REASON_HIDDEN_INACTIVE,
    REASON_PRUNE,
    Action,
    Change,
    FieldName,
    Ignored,
    Key,
    Plan,
    Snapshot,
    TargetPlan,
    fingerprint,
)

ASSUMED = Contract()

# Fixed change order within a target: by communication type (SPEC order, unknown types
# after), then deactivations before creates so that a channel move's "-" and "+" sit together.
_TYPE_ORDER = {name: index for index, name in enumerate(COMMUNICATION_TYPES)}
_ACTION_ORDER: dict[Action, int] = {"deactivate": 0, "create": 1, "update": 2, "noop": 3}


@dataclass(frozen=True)
class ReadFailure:
    """Reading a target's communications failed; the planner plans nothing for it."""

    message: str


LiveRead = Sequence[Communication] | ReadFailure


def plan_target(
    desired: DesiredTarget,
    live: LiveRead,
    *,
    channels: Mapping[int, str] | None = None,
    contract: Contract = ASSUMED,
) -> TargetPlan:
    """Plan one target: match by key, diff compared fields, prune, handle live duplicates.

    A failed read plans nothing at all (SPEC §4: it is never "nothing there"). ``channels``
    maps channel ids to names; None means the channel list is not known. ``contract`` is how
    the API treats an upsert (SPEC §9); its defaults are the assumptions.
    """
    if isinstance(live, ReadFailure):
        return unreadable_target(desired, live.message)
    names = channels or {}
    declared = _declared(desired, names)
    by_key, unmanaged = group_by_key(live, channels)
    shared = shared_groups(live, contract.match)
    moves = _moves(declared, by_key, shared, contract)
    changes: list[Change] = []
    warnings: list[str] = []
    info: list[str] = []
    held: dict[Group, list[Change]] = {group: [] for group in shared}
    for key, wanted in declared.items():
        match, others = pick_match(by_key.get(key, []))
        group = group_of(key, contract.match)
        if key in moves:
            after = Snapshot.of(wanted)
            changes.append(in_place_move(key, after, moves[key], names, wanted.source.render()))
            continue
        change = declared_change(key, wanted, match, names, warnings, info)
        if group in shared:
            # The API picks the row itself: only a change that writes nothing is planned.
            (held[group] if change.is_write else changes).append(change)
            continue
        changes.append(change)
        # A declared key has exactly one active row (SPEC §4): the other active duplicates
        # are deactivated whatever ``prune`` says; prune concerns undeclared keys only.
        changes.extend(deactivation(c, REASON_DUPLICATE) for c in others)
        if match is not None and others:
            warnings.append(_duplicate_warning(key, match, others, names))
    for comm, why in sorted(unmanaged, key=lambda pair: pair[0].id):
        warnings.append(f"not managed: {why} (id {comm.id}); left as it is")
    moved = {row.id for row in moves.values()}
    for key in sorted(set(by_key) - set(declared), key=_key_order):
        rows = [row for row in by_key[key] if row.id not in moved]
        undeclared = _undeclared(key, rows, desired.prune, names, warnings)
        group = group_of(key, contract.match)
        (held[group] if group in shared else changes).extend(undeclared)
    for group, rows in shared.items():
        warnings.append(shared_warning(group, rows, held[group], contract.match, names))
    if not contract.inactiveRowsVisible:
        changes = [_hidden_inactive(change) for change in changes]
    ignored = tuple(
        Ignored(key=key, fields=cast(tuple[FieldName, ...], wanted.ignore))
        for key, wanted in sorted(declared.items(), key=lambda kv: _key_order(kv[0]))
        if wanted.ignore
    )
    return _target_plan(
        **_identity(desired),
        fingerprint=fingerprint(
            live, {(i.key.communicationType, i.key.channelId): i.fields for i in ignored}
        ),
        ignored=ignored,
        info=tuple(info),
        activeLive=sum(1 for c in live if c.active) - sum(1 for c, _ in unmanaged if c.active),
        warnings=tuple(warnings),
        changes=tuple(sorted(_label_moves(changes, names), key=_change_order)),
    )


def _moves(
    declared: Mapping[Key, DesiredCommunication],
    by_key: Mapping[Key, Sequence[Communication]],
    shared: Mapping[Group, Sequence[Communication]],
    contract: Contract,
) -> dict[Key, Communication]:
    """Under ``match: type``: each active declared key with no live row whose type has exactly
    one live row, on a channel no manifest declares: that row moves to the declared channel."""
    if contract.match != "type":
        return {}
    moves: dict[Key, Communication] = {}
    for key, wanted in declared.items():
        if not wanted.active or by_key.get(key) or key.communicationType in shared:
            continue
        rows = [
            row
            for other, found in by_key.items()
            if other.communicationType == key.communicationType and other not in declared
            for row in found
        ]
        if len(rows) == 1:
            moves[key] = rows[0]
    return moves


def _hidden_inactive(change: Change) -> Change:
    """Under ``inactiveRowsVisible: false`` a create may be a re-activation the API cannot
    show: the plan says why it is a new row."""
    if change.action != "create" or change.reason is not None:
        return change
    return change.model_copy(update={"reason": REASON_HIDDEN_INACTIVE})


def unreadable_target(desired: DesiredTarget, message: str) -> TargetPlan:
    """A target whose live state could not be read: no changes at all (SPEC §4)."""
    return TargetPlan(
        **_identity(desired),
        readable=False,
        error=message,
    )


def assemble_plan(
    targets: Iterable[TargetPlan],
    environment: str,
    generated_at: datetime,
    *,
    channels: Mapping[int, str] | None = None,
    warnings: Sequence[str] = (),
    contract: Contract = ASSUMED,
) -> Plan:
    """The Plan of the planned ``targets``, sorted by (group, target); one entry per target.
    It names ``contract`` only when that is not the assumptions."""
    return Plan(
        environment=environment,
        generatedAt=_utc(generated_at),
        targets=tuple(sorted(targets, key=lambda target: target.ref)),
        warnings=tuple(warnings),
        channels=dict(channels or {}),
        contract=None if contract == ASSUMED else contract,
    )


def make_plan(
    desired: Sequence[DesiredTarget],
    live: Mapping[tuple[int, int], LiveRead],
    environment: str,
    generated_at: datetime,
    *,
    channels: Mapping[int, str] | None = None,
    warnings: Sequence[str] = (),
    contract: Contract = ASSUMED,
) -> Plan:
    """Plan exactly the desired targets at once; a target missing from ``live`` is unreadable."""
    seen: dict[tuple[int, int], DesiredTarget] = {}
    for target in desired:
        if target.ref in seen:
            # A manifest rule, worded and enforced by reading and resolving; here only a guard
            # against a library caller who skipped them (never a user-facing message).
            raise ValueError(f"precondition: target {target.ref} given twice to make_plan")
        seen[target.ref] = target
    planned = [
        plan_target(
            seen[ref],
            live.get(ref, ReadFailure("live state was not read")),
            channels=channels,
            contract=contract,
        )
        for ref in sorted(seen)
    ]
    return assemble_plan(
        planned, environment, generated_at, channels=channels, warnings=warnings, contract=contract
    )


def _declared(
    desired: DesiredTarget, channels: Mapping[int, str]
) -> dict[Key, DesiredCommunication]:
    """The target's declared communications by key.

    One declaration per key is a manifest rule that reading and resolving enforce and word; a
    repeat here means a library caller skipped them, and is refused rather than planned.
    """
    declared: dict[Key, DesiredCommunication] = {}
    for wanted in desired.communications:
        key = key_of(wanted.communicationType, wanted.channelId)
        if key in declared:
            raise ValueError(f"precondition: {desired.name} gives {key.label(channels)} twice")
        declared[key] = wanted
    return declared


def _undeclared(
    key: Key,
    rows: Sequence[Communication],
    prune: bool,
    channels: Mapping[int, str],
    warnings: list[str],
) -> list[Change]:
    """A live key no manifest declares: its active rows are deactivated under prune."""
    active = sorted((c for c in rows if c.active), key=lambda c: c.id)
    if len(active) > 1:
        ids = ", ".join(str(c.id) for c in active)
        fate = "all are planned for deactivation" if prune else "kept (prune: false)"
        warnings.append(
            f"{len(active)} active live communications share key {key.label(channels)} "
            f"(ids {ids}), which no manifest declares; {fate}"
        )
    return [deactivation(c, REASON_PRUNE) for c in active] if prune else []


def _target_plan(**values: Any) -> TargetPlan:
    """A readable target's plan, as the planner built it: without validation (issue 21: about
    1 KB less per target; each value already has its field's exact type) when the identity
    fields have their exact types, validated otherwise. The model's own rule still holds."""
    exact = all(type(values[name]) is kind for name, kind in _IDENTITY_TYPES.items())
    if not exact or values["fingerprint"] is None:
        return TargetPlan(**values)
    return TargetPlan.trusted(**values)


_IDENTITY_TYPES = {
    "targetGroupId": int,
    "targetId": int,
    "targetGroupName": str,
    "targetName": str,
    "manifest": str,
    "name": str,
}


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


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
