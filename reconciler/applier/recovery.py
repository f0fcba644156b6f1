"""What is left to write after an ambiguous write (SPEC §6): pure functions of a target's plan
and a re-read. ``execute``'s recovery loop sends what they return; nothing is resent blindly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.matching import pick_match
from reconciler.plan import Change, Snapshot, TargetPlan
from reconciler.textnorm import TEXT_FIELDS, explain


def landed(stored: Communication, snapshot: Snapshot) -> bool:
    """Whether ``stored`` is ``snapshot`` as written, allowing a server's text normalisation
    (so recovery does not resend, round after round, what such a server stores differently)."""
    for name in Snapshot.model_fields:
        old, new = getattr(stored, name), getattr(snapshot, name)
        if old != new and (name not in TEXT_FIELDS or explain(new, old) is None):
            return False
    return True


def remaining_writes(
    target: TargetPlan, live: Sequence[Communication]
) -> tuple[list[CommunicationWrite], list[Change]]:
    """What of ``target``'s changes ``live`` does not show yet: writes to send, creates to confirm.

    Updates and deactivations carry ids, so resending them is idempotent. A create is never
    resent here: it is returned separately so the caller can confirm its absence after a delay.
    """
    by_id = {c.id: c for c in live}
    writes: list[CommunicationWrite] = []
    creates: list[Change] = []
    for change in target.changes:
        if change.action == "noop" or change.after is None:
            continue
        if change.action == "create":
            matches = [
                c
                for c in live
                if c.active
                and (c.communicationType, c.channelId)
                == (change.key.communicationType, change.key.channelId)
            ]
            if any(landed(c, change.after) for c in matches):
                continue
            if matches:  # the key exists now: make it right by id instead of inserting again
                newest = max(matches, key=lambda c: c.id)
                writes.append(CommunicationWrite(id=newest.id, **change.after.model_dump()))
            else:
                creates.append(change)
            continue
        current = by_id.get(change.id) if change.id is not None else None
        if current is None and not change.after.active:
            continue  # deactivated and no longer listed (an API that hides inactive rows)
        after = target.after(change, current)  # ignored fields: the live value, never written
        assert after is not None
        if current is None or not landed(current, after):
            writes.append(change.write(after))
    return writes, creates


def duplicate_deactivations(
    target: TargetPlan, live: Sequence[Communication]
) -> list[CommunicationWrite]:
    """Deactivations of the extra active rows of each key the target declares active
    (SPEC §4: a declared key has exactly one active row). The row kept is the one the planner
    would match: the most recently updated (ties: the higher id)."""
    declared = {
        (c.key.communicationType, c.key.channelId)
        for c in target.changes
        if c.action != "deactivate" and c.after is not None and c.after.active
    }
    by_key: dict[tuple[str, int], list[Communication]] = {}
    for row in live:
        key = (row.communicationType, row.channelId)
        if row.active and key in declared:
            by_key.setdefault(key, []).append(row)
    writes = []
    for rows in by_key.values():
        _, others = pick_match(rows)
        for row in sorted(others, key=lambda c: c.id):
            snapshot = Snapshot.of(row).model_copy(update={"active": False})
            writes.append(CommunicationWrite(id=row.id, **snapshot.model_dump()))
    return writes


def not_shown(live: Sequence[Communication], expected: Mapping[int, Snapshot]) -> str:
    """The ids of ``expected`` rows that ``live`` does not show as expected, as text."""
    by_id = {c.id: c for c in live}
    missing = []
    for id_, snapshot in sorted(expected.items()):
        row = by_id.get(id_)
        if row is None and not snapshot.active:
            continue  # deactivated and no longer listed
        if row is None or Snapshot.of(row) != snapshot:
            missing.append(str(id_))
    return ", ".join(missing)
