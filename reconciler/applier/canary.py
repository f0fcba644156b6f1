"""The canary (SPEC §9): with no proven contract, the first target written is re-read and checked
against SPEC §2's assumptions before any other target starts. ``check`` is pure; ``reread`` is
the one read it costs (more only while the read lags behind the write). Writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.applier.recovery import landed
from reconciler.errors import ApiError, AuthError, PermissionDenied
from reconciler.plan import Key, Snapshot

# Re-reads of a canary target that still shows a write's rows as they were, one settle apart.
MAX_LAG_WAITS = 4

FIX = "run `reconciler probe`, commit its contract file, and apply again"
# The assumptions of SPEC §2 a canary can prove wrong, as the sentence each failure names.
KEPT_LEFT_OUT = "the upsert kept rows left out of the body"
UPDATES_BY_ID = "an element with id updated that row and no other"
INSERTS_WITHOUT_ID = "an element without id inserted one new row"
KEEPS_SERVER_FIELDS = "an update that leaves out configs (server fields) kept them"
TAKES_ARRAY = "the upsert accepted an array of communications as its body"
STORED_AS_SENT = "the upsert stored each element as sent, on the row its id names"


@dataclass(frozen=True)
class Violation:
    """What the canary found: the assumption that failed, and the evidence."""

    assumption: str
    detail: str
    lost_server_fields: dict[int, dict[str, object]] | None = None  # id -> what it lost
    proven: bool = True  # False: nothing proves it wrong, but it could not be confirmed

    @property
    def verdict(self) -> str:
        return "assumption failed" if self.proven else "could not confirm"

    def message(self, label: str) -> str:
        return (
            f"canary on {label}: {self.verdict}: {self.assumption} ({self.detail}); "
            f"no other target was written: {FIX}"
        )


class _Reader(Protocol):
    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]: ...


def from_failure(message: str, *, refused: bool) -> Violation:
    """The canary target's write failed: refused (a 4xx: the body is not what the API takes),
    answered inconsistently, or failed otherwise (then nothing is proven, nor confirmed)."""
    if refused:
        return Violation(TAKES_ARRAY, message)
    if message.startswith("API returned an inconsistent result"):
        return Violation(STORED_AS_SENT, message)
    return Violation("the upsert behaves as assumed", message, proven=False)


async def reread(
    client: _Reader,
    ref: tuple[int, int],
    before: Sequence[Communication],
    sent: Sequence[CommunicationWrite],
    channels: Mapping[int, str],
    settle_seconds: float,
) -> Violation | None:
    """Re-read the canary target and ``check`` it; authentication failures are raised."""
    for attempt in range(MAX_LAG_WAITS + 1):
        if attempt:  # the re-read may lag behind the write: look again before judging
            await asyncio.sleep(settle_seconds)
        try:
            after = await client.get_communications(*ref)
        except (AuthError, PermissionDenied):
            raise
        except ApiError as exc:
            return Violation(
                "the upsert behaves as assumed", f"the re-read failed: {exc.message}", proven=False
            )
        if attempt == MAX_LAG_WAITS or not behind(before, sent, after):
            return check(before, sent, after, channels)
    return None  # not reached: the last attempt judges


def check(
    before: Sequence[Communication],
    sent: Sequence[CommunicationWrite],
    after: Sequence[Communication],
    channels: Mapping[int, str] | None = None,
) -> Violation | None:
    """What ``after`` (the re-read) proves wrong about the write of ``sent`` to a target whose
    rows were ``before``, or None when everything is as SPEC §2 assumes."""
    old = {row.id: row for row in before}
    new = {row.id: row for row in after}
    ids = {w.id for w in sent if w.id is not None}
    for check_one in (_left_out, _updated, _server_fields, _inserted):
        found = check_one(old, new, ids, sent, channels or {})
        if found is not None:
            return found
    return None


def behind(
    before: Sequence[Communication],
    sent: Sequence[CommunicationWrite],
    after: Sequence[Communication],
) -> bool:
    """Whether ``after`` may only lag behind the write (a written row shows as it was, or a
    create is not there yet): then it is read again before it is judged."""
    old = {row.id: row for row in before}
    new = {row.id: row for row in after}
    for write in sent:
        if write.id is None:
            key = (write.communicationType, write.channelId)
            fresh = [
                r for r in after if r.id not in old and (r.communicationType, r.channelId) == key
            ]
            if not fresh:
                return True
            continue
        row, was = new.get(write.id), old.get(write.id)
        if row is None or was is None:
            continue
        if Snapshot.of(row) == Snapshot.of(was) and not landed(row, _snapshot(write)):
            return True
    return False


def _left_out(
    old: Mapping[int, Communication],
    new: Mapping[int, Communication],
    ids: set[int],
    sent: Sequence[CommunicationWrite],
    channels: Mapping[int, str],
) -> Violation | None:
    """Rows the body left out are as they were, field by field (SPEC §2: merge)."""
    gone, deactivated, changed = [], [], []
    for id_, row in sorted(old.items()):
        if id_ in ids:
            continue
        now = new.get(id_)
        if now is None:
            gone.append(id_)
        elif row.active and not now.active:
            deactivated.append(id_)
        elif Snapshot.of(now) != Snapshot.of(row):
            changed.append(id_)
    if deactivated or gone:
        parts = []
        if deactivated:
            parts.append(f"{_ids(deactivated)} left out of the body became inactive")
        if gone:
            verb = "is" if len(gone) == 1 else "are"
            parts.append(f"{_ids(gone)} left out of the body {verb} gone (deleted, or hidden)")
        return Violation(KEPT_LEFT_OUT, "; ".join(parts))
    if changed:
        return Violation(UPDATES_BY_ID, f"{_ids(changed)}, not in the body, changed")
    return None


def _updated(
    old: Mapping[int, Communication],
    new: Mapping[int, Communication],
    ids: set[int],
    sent: Sequence[CommunicationWrite],
    channels: Mapping[int, str],
) -> Violation | None:
    """Each element with an id is that row, as sent (a deactivated row may be listed no more)."""
    for write in sent:
        if write.id is None:
            continue
        row = new.get(write.id)
        if row is None:
            if write.active:
                return Violation(UPDATES_BY_ID, f"id {write.id}, written active, is gone")
            continue
        if not landed(row, _snapshot(write)):
            fields = [n for n in Snapshot.model_fields if getattr(row, n) != getattr(write, n)]
            return Violation(
                UPDATES_BY_ID, f"id {write.id} does not hold what was sent ({', '.join(fields)})"
            )
    return None


def _server_fields(
    old: Mapping[int, Communication],
    new: Mapping[int, Communication],
    ids: set[int],
    sent: Sequence[CommunicationWrite],
    channels: Mapping[int, str],
) -> Violation | None:
    """No row lost a server field it had (a list or object that is now empty or different)."""
    lost: dict[int, dict[str, object]] = {}
    names: set[str] = set()
    for id_, row in sorted(old.items()):
        now = new.get(id_)
        if now is None:
            continue
        after = now.server_fields
        for name, value in row.server_fields.items():
            if isinstance(value, list | dict) and value and after.get(name) != value:
                lost.setdefault(id_, {})[name] = value
                names.add(name)
    if not lost:
        return None
    detail = f"{_ids(sorted(lost))} lost {', '.join(sorted(names))}"
    return Violation(KEEPS_SERVER_FIELDS, detail, lost_server_fields=lost)


def _inserted(
    old: Mapping[int, Communication],
    new: Mapping[int, Communication],
    ids: set[int],
    sent: Sequence[CommunicationWrite],
    channels: Mapping[int, str],
) -> Violation | None:
    """Each create made exactly one new row, nothing else made any, and no key written
    active holds two active rows."""
    # New rows, but for a duplicate that the write's own recovery made and then deactivated.
    fresh = [row for id_, row in sorted(new.items()) if id_ not in old and id_ not in ids]
    creates = {(w.communicationType, w.channelId) for w in sent if w.id is None}
    for kind, channel in sorted(creates):
        made = [r for r in fresh if (r.communicationType, r.channelId) == (kind, channel)]
        if len(made) != 1:
            label = Key(communicationType=kind, channelId=channel).label(channels)
            return Violation(INSERTS_WITHOUT_ID, f"the create of {label} made {len(made)} rows")
    stray = [r.id for r in fresh if (r.communicationType, r.channelId) not in creates]
    if stray:
        return Violation(UPDATES_BY_ID, f"the write added {_ids(stray)}, which nothing created")
    for write in sent:
        key = (write.communicationType, write.channelId)
        active = [
            r.id for r in new.values() if r.active and (r.communicationType, r.channelId) == key
        ]
        if write.active and len(active) > 1:
            label = Key(communicationType=key[0], channelId=key[1]).label(channels)
            return Violation(UPDATES_BY_ID, f"{label} now has {len(active)} active rows")
    return None


def _snapshot(write: CommunicationWrite) -> Snapshot:
    return Snapshot(**write.model_dump(exclude={"id", "echo"}))


def _ids(ids: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in ids)
    return f"id {shown}" if len(ids) == 1 else f"ids {shown}"
