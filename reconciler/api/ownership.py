"""Which target a communication row says it belongs to (SPEC §4, issue 14 item 4).

Every row of a read or of an upsert answer is checked against the target that was asked
about. A row whose ``targetId`` or ``targetGroupId`` names another target is evidence that the
server mixed targets up: the read is not this target's state, the answer not this write's
outcome. A row *without* those fields is tolerated: the ids are server-owned, some servers
leave them out, and an absent id contradicts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.api.wire import Communication


def foreign_row(
    rows: Sequence[Communication], group_id: int, target_id: int
) -> Communication | None:
    """The first row that names a target other than ``group_id``/``target_id``, if any."""
    for row in rows:
        if row.targetGroupId is not None and row.targetGroupId != group_id:
            return row
        if row.targetId is not None and row.targetId != target_id:
            return row
    return None


def describe_foreign(row: Communication, group_id: int, target_id: int) -> str:
    """``communication id 7 belongs to target group 1, target 9, not of the target asked
    about (10/20)``: the owner it claims, with ``?`` for an absent id."""
    group = "?" if row.targetGroupId is None else row.targetGroupId
    target = "?" if row.targetId is None else row.targetId
    return (
        f"communication id {row.id} belongs to target group {group}, target {target}, "
        f"not to the target asked about ({group_id}/{target_id})"
    )
