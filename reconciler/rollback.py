"""``rollback`` (issue 19): the plan that restores the pre-images an apply recorded, so that it
is reviewed and applied like any plan (``cli.apply.run_apply`` applies it, under every rule of
apply). Reads live state; writes nothing.

Only the targets the report holds a pre-image of are read or planned. A target whose live state
is no longer what that apply left is refused, by name, unless forced: restoring it would undo
someone else's later work too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, cast

from pydantic import ValidationError

from reconciler.api.wire import Channel, Communication
from reconciler.assumptions import COMPARED_FIELDS
from reconciler.changes import changed_fields, deactivation
from reconciler.errors import ApplyRefused, UsageError
from reconciler.fingerprint import fingerprint
from reconciler.history import ReportTarget, RunReport
from reconciler.matching import key_of
from reconciler.plan import REASON_REACTIVATION, Change, FieldName, Plan, Snapshot, TargetPlan
from reconciler.planner import assemble_plan
from reconciler.selection import parse_selectors, selected

REASON_CREATED = "created by the apply rolled back"
REASON_RESTORED = "restored"


class Reader(Protocol):
    async def list_channels(self) -> list[Channel]: ...

    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]: ...


def chosen_targets(
    report: RunReport,
    environment: str,
    target_group: int | str | None = None,
    selectors: Sequence[str] = (),
    *,
    endpoint: str,
) -> list[ReportTarget]:
    """The report's targets to restore: those with a pre-image, in the group asked for (id or
    name) and matching ``--select`` (``name=`` or the labels the report recorded). A report
    of another environment, or read from another ``endpoint``, is refused."""
    if report.environment != environment:
        raise ApplyRefused(
            f"the report is of environment {report.environment!r}, not {environment!r}; "
            "run rollback with --env " + report.environment
        )
    if report.endpoint != endpoint:
        made = f"endpoint {report.endpoint[:200]!r}" if report.endpoint else "no named endpoint"
        raise ApplyRefused(
            f"the report's pre-images were read from {made}, but environment {environment!r} "
            f"now uses endpoint {endpoint!r}: a rollback restores only where they were read"
        )
    pairs = parse_selectors(selectors)
    chosen = [
        target
        for target in report.touched
        if target_group in (None, target.targetGroupId, target.targetGroupName)
        and selected(target.name, target.labels, pairs)
    ]
    if not report.touched:
        raise UsageError("the report holds no pre-image: that run wrote nothing to restore")
    if not chosen:
        raise UsageError("no target of the report matches --target-group and --select")
    seen: set[tuple[int, int]] = set()
    for target in report.touched:  # the report as a whole, checked before any request
        if target.ref in seen:
            raise UsageError(f"the report holds target {target.label} more than once")
        seen.add(target.ref)
    for target in chosen:  # every row the restoration reads
        left_by_apply(target)
    return chosen


def rows_of(
    raw: Sequence[dict[str, object]], where: str, ref: tuple[int, int] | None = None
) -> list[Communication]:
    """Report rows as communications (UsageError naming ``where`` if they are not, or if a
    row names another target than ``ref``)."""
    try:
        rows = [Communication.model_validate(row) for row in raw]
    except ValidationError:
        raise UsageError(f"{where}: the report's rows are not communications") from None
    for row in rows if ref is not None else ():
        if (row.targetGroupId, row.targetId) not in {ref, (None, None)}:
            raise UsageError(
                f"{where}: the report holds row id {row.id} of target "
                f"{row.targetGroupId}/{row.targetId}, not of that target"
            )
    if ref is not None and len({row.id for row in rows}) != len(rows):
        raise UsageError(f"{where}: the report holds one row id twice")
    return rows


def left_by_apply(target: ReportTarget) -> list[Communication] | None:
    """The rows that apply left on ``target``: its pre-image with each row the API answered
    put over it; None when a request has no answer (what it did is not known)."""
    rows = {row.id: row for row in rows_of(target.preImage or [], target.label, target.ref)}
    for request in target.requests:
        if request.response is None:
            return None
        rows.update((row.id, row) for row in rows_of(request.response, target.label, target.ref))
    return list(rows.values())


def _shown(rows: Sequence[Communication], inactive_visible: bool) -> list[Communication]:
    """What a read shows of ``rows``: an API that hides inactive rows leaves them out."""
    return list(rows) if inactive_visible else [row for row in rows if row.active]


def changed_since(
    target: ReportTarget, live: Sequence[Communication], inactive_visible: bool = True
) -> str | None:
    """Why ``target`` may not be restored without ``--force``, or None. ``inactive_visible``
    (the contract's ``inactiveRowsVisible``): whether a read shows the rows apply deactivated."""
    before = _shown(rows_of(target.preImage or [], target.label, target.ref), inactive_visible)
    if fingerprint(live) == fingerprint(before):
        return None  # already as it was: nothing to restore, nothing to lose
    left = left_by_apply(target)
    if left is None:
        return f"{target.label} (what that apply wrote is not known: a request had no answer)"
    if fingerprint(live) != fingerprint(_shown(left, inactive_visible)):
        return f"{target.label} (live state changed after that apply)"
    return None


def restoration(
    target: ReportTarget,
    live: Sequence[Communication],
    channels: dict[int, str],
    inactive_visible: bool = True,
) -> TargetPlan:
    """The changes that give ``target`` its pre-image back, row by row and id by id: rows
    since changed are updated back (re-activated where they were active), rows apply created
    are deactivated, and a row that is gone is created again (with a new id, and a warning).
    Where the API hides inactive rows, a row that apply's answers show it deactivated is
    re-activated by its id, not created again."""
    before = {row.id: row for row in rows_of(target.preImage or [], target.label, target.ref)}
    hidden = (
        {}
        if inactive_visible
        else {row.id: row for row in left_by_apply(target) or () if not row.active}
    )
    changes: list[Change] = []
    warnings: list[str] = []
    for row in sorted(live, key=lambda r: r.id):
        old = before.get(row.id)
        if old is None:
            if row.active:
                changes.append(deactivation(row, REASON_CREATED))
        elif old.communicationType != row.communicationType:
            warnings.append(f"id {row.id} changed type since; left as it is")
        else:
            change = _back(row, old)
            if change is not None:
                changes.append(change)
    live_ids = {row.id for row in live}
    for id_, old in sorted(before.items()):
        if id_ not in live_ids and old.active:
            if id_ in hidden and hidden[id_].communicationType == old.communicationType:
                change = _back(hidden[id_], old)
                changes.extend([change] if change is not None else [])
                continue
            key = key_of(old.communicationType, old.channelId)
            warnings.append(f"id {id_} ({key.label(channels)}) is gone; restored as a new row")
            after = Snapshot.of(old)
            fields = cast(tuple[FieldName, ...], COMPARED_FIELDS)  # a create sets every field
            changes.append(Change(action="create", key=key, after=after, fields=fields))
    return TargetPlan(
        targetGroupId=target.targetGroupId,
        targetId=target.targetId,
        targetGroupName=target.targetGroupName,
        targetName=target.targetName,
        manifest=target.manifest,
        name=target.name,
        fingerprint=fingerprint(live),
        activeLive=sum(1 for row in live if row.active),
        warnings=tuple(warnings),
        changes=tuple(changes),
    )


def _back(row: Communication, old: Communication) -> Change | None:
    """The change that writes ``old``'s fields back over ``row`` (one id), or None."""
    now, then = Snapshot.of(row), Snapshot.of(old)
    if now == then:
        return None
    fields = changed_fields(now, then)
    if now.channelId != then.channelId:
        fields = (*fields, "channelId")
    if fields == ("active",) and now.active:
        return deactivation(row, REASON_RESTORED)
    reason = REASON_REACTIVATION if then.active and not now.active else REASON_RESTORED
    return Change(
        action="update",
        key=then.key,
        id=row.id,
        before=now,
        after=then,
        fields=fields,
        reason=reason,
    )


async def plan_rollback(
    targets: Sequence[ReportTarget],
    client: Reader,
    *,
    environment: str,
    parallelism: int,
    force: bool,
    keep_live: dict[tuple[int, int], list[Communication]],
    now: datetime | None = None,
    inactive_visible: bool = True,
) -> Plan:
    """Read each chosen target, refuse (naming them) those changed since unless ``force``,
    and plan the restoration of the others; nothing is written here. ``inactive_visible``:
    the contract's ``inactiveRowsVisible``."""
    gate = asyncio.Semaphore(parallelism)

    async def read(ref: tuple[int, int]) -> list[Communication]:
        async with gate:
            return await client.get_communications(*ref)

    channels_read = asyncio.ensure_future(client.list_channels())
    lives = await asyncio.gather(*(read(t.ref) for t in targets))
    channels = {c.id: c.name for c in await channels_read}
    # A target its restoration leaves as it is (restored already, by a run cut short or an
    # earlier rollback) is not refused: there is nothing to write, so nothing to lose.
    planned = [
        restoration(t, live, channels, inactive_visible)
        for t, live in zip(targets, lives, strict=True)
    ]
    refused = [
        why
        for t, live, restored in zip(targets, lives, planned, strict=True)
        if restored.has_changes and (why := changed_since(t, live, inactive_visible))
    ]
    if refused and not force:
        raise ApplyRefused(
            "rollback refused for "
            + "; ".join(refused)
            + ". Nothing was written; --force restores them anyway"
        )
    for target, live, restored in zip(targets, lives, planned, strict=True):
        if restored.has_changes:
            keep_live[target.ref] = live
    return assemble_plan(planned, environment, now or datetime.now(UTC), channels=channels)
