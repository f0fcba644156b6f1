"""What one upsert body does to a target's rows: the checks the database can make, then which
element inserts and which updates. Runs inside the transaction ``store`` opens; no I/O else.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from reconciler.sandbox.envelope import INVALID_INPUT, ApiFailure
from reconciler.sandbox.models import ErrorJSON, UpsertElement
from reconciler.sandbox.tables import communication_json, fetch_communication

_INSERT = (
    "INSERT INTO communications (targetGroupId, targetId, communicationType, channelId, "
    "subjectTemplate, messageTemplate, sender, offsetDays, active, createdOn, lastUpdatedOn, "
    "createdBy, lastUpdatedBy, writtenAt, previous) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
)
_UPDATE = (
    "UPDATE communications SET communicationType = ?, channelId = ?, subjectTemplate = ?, "
    "messageTemplate = ?, sender = ?, offsetDays = ?, active = ?, lastUpdatedOn = ?, "
    "lastUpdatedBy = ?, writtenAt = ?, previous = ? WHERE id = ?"
)


def write_elements(
    conn: sqlite3.Connection,
    group_id: int,
    target_id: int,
    elements: Sequence[UpsertElement],
    *,
    who: str,
    stamp: str,
    written: float,
) -> list[int]:
    """Check, then write every element: with ``id`` it updates that communication of this
    target, without it inserts one. Returns the written ids in the order of ``elements``."""
    check_elements(conn, group_id, target_id, elements)
    ids: list[int] = []
    for element in elements:
        values = (
            element.communicationType,
            element.channelId,
            element.subjectTemplate,
            element.messageTemplate,
            element.sender,
            element.offsetDays,
            element.active,
        )
        if element.id is None:
            cursor = conn.execute(
                _INSERT, (group_id, target_id, *values, stamp, stamp, who, who, written)
            )
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
        else:
            old = fetch_communication(conn, element.id)
            assert old is not None  # check_elements proved it exists
            previous = json.dumps(communication_json(old))
            conn.execute(_UPDATE, (*values, stamp, who, written, previous, element.id))
            ids.append(element.id)
    return ids


def check_elements(
    conn: sqlite3.Connection, group_id: int, target_id: int, elements: Sequence[UpsertElement]
) -> None:
    """Every problem the database reveals in an upsert body, reported together as one 400."""
    channels = {row[0] for row in conn.execute("SELECT id FROM channels")}
    problems: list[ErrorJSON] = []
    seen: set[int] = set()
    for index, element in enumerate(elements):
        where = f"body[{index}]"
        if element.channelId not in channels:
            problems.append(
                _invalid(f"{where}.channelId: channel {element.channelId} does not exist")
            )
        if element.id is None:
            continue
        if element.id in seen:
            problems.append(_invalid(f"{where}.id: communication {element.id} appears twice"))
        seen.add(element.id)
        row = fetch_communication(conn, element.id)
        if row is None:
            problems.append(_invalid(f"{where}.id: communication {element.id} does not exist"))
        elif (row["targetGroupId"], row["targetId"]) != (group_id, target_id):
            problems.append(
                _invalid(
                    f"{where}.id: communication {element.id} belongs to target "
                    f"{row['targetId']} of target group {row['targetGroupId']}, "
                    f"not to target {target_id} of target group {group_id}"
                )
            )
    if problems:
        first, *more = problems
        raise ApiFailure(400, first["code"], first["message"], more=more)


def _invalid(message: str) -> ErrorJSON:
    return {"code": INVALID_INPUT, "message": message}
