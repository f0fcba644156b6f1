"""What one upsert body does to a target's rows: the checks the database can make, which row each
element writes (by ``id``, or by key under a dialect), and what the body leaves out. Runs inside
the transaction ``store`` opens; no I/O else.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.sandbox.dialects import DEFAULT, Dialect
from reconciler.sandbox.envelope import INVALID_INPUT, ApiFailure
from reconciler.sandbox.models import (
    ErrorJSON,
    ServerFieldsElement,
    ServerFieldsJSON,
    UpsertElement,
)
from reconciler.sandbox.tables import communication_json, fetch_communication, server_fields

_INSERT = (
    "INSERT INTO communications (targetGroupId, targetId, communicationType, channelId, "
    "subjectTemplate, messageTemplate, sender, offsetDays, active, createdOn, lastUpdatedOn, "
    "createdBy, lastUpdatedBy, writtenAt, previous, serverFields) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)"
)
_UPDATE = (
    "UPDATE communications SET communicationType = ?, channelId = ?, subjectTemplate = ?, "
    "messageTemplate = ?, sender = ?, offsetDays = ?, active = ?, lastUpdatedOn = ?, "
    "lastUpdatedBy = ?, writtenAt = ?, previous = ?, serverFields = ? WHERE id = ?"
)
# The first row written for a key is the one a key-matching server finds (lowest id).
_BY_KEY = (
    "SELECT id FROM communications WHERE targetGroupId = ? AND targetId = ? "
    "AND communicationType = ? AND channelId = ? ORDER BY id LIMIT 1"
)
_BY_TYPE = (
    "SELECT id FROM communications WHERE targetGroupId = ? AND targetId = ? "
    "AND communicationType = ? ORDER BY id LIMIT 1"
)


@dataclass(frozen=True)
class Stamp:
    """Who writes, and when: ``who`` is the actor's JSON, ``written`` the epoch seconds."""

    who: str
    at: str
    written: float


def write_elements(
    conn: sqlite3.Connection,
    group_id: int,
    target_id: int,
    elements: Sequence[UpsertElement],
    stamp: Stamp,
    dialect: Dialect = DEFAULT,
) -> list[int]:
    """Check, then write every element. By default one with ``id`` updates that communication
    of this target and one without inserts; key-match and type-match find the row by key
    instead, whatever the ``id``. Under replace-set the target's other active rows are
    deactivated. Returns the written ids in the order of ``elements``."""
    check_elements(conn, group_id, target_id, elements, by_id=dialect.match == "id")
    ids: list[int] = []
    for element in elements:
        row_id = _matched_row(conn, group_id, target_id, element, dialect)
        values = (
            element.communicationType,
            element.channelId,
            element.subjectTemplate,
            element.messageTemplate,
            element.sender,
            element.offsetDays,
            element.active,
        )
        if row_id is None:
            sent = _dumps(_sent_fields(element, on_update=False))
            created = (stamp.at, stamp.at, stamp.who, stamp.who, stamp.written, sent)
            cursor = conn.execute(_INSERT, (group_id, target_id, *values, *created))
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
        else:
            old = fetch_communication(conn, row_id)
            assert old is not None  # check_elements or the key lookup proved it exists
            fields = _sent_fields(element, on_update=True)
            if fields is None:
                fields = server_fields(old)  # kept: the body does not carry them
            previous = _snapshot(old)
            conn.execute(
                _UPDATE,
                (*values, stamp.at, stamp.who, stamp.written, previous, _dumps(fields), row_id),
            )
            ids.append(row_id)
    if dialect.replace_set:
        _deactivate_others(conn, group_id, target_id, set(ids), stamp)
    return ids


def _matched_row(
    conn: sqlite3.Connection,
    group_id: int,
    target_id: int,
    element: UpsertElement,
    dialect: Dialect,
) -> int | None:
    """The id of the row ``element`` updates, or None when it inserts one."""
    if dialect.match == "id":
        return element.id
    if dialect.match == "key":
        row = conn.execute(
            _BY_KEY, (group_id, target_id, element.communicationType, element.channelId)
        ).fetchone()
    else:
        row = conn.execute(_BY_TYPE, (group_id, target_id, element.communicationType)).fetchone()
    return None if row is None else int(row[0])


def _sent_fields(element: UpsertElement, *, on_update: bool) -> ServerFieldsJSON | None:
    """The server fields an element sets: None keeps (or, on insert, leaves unset) the row's.

    Only drop-server-fields bodies carry them; there an update without one empties it.
    """
    if not isinstance(element, ServerFieldsElement):
        return None
    if not on_update and element.configs is None and element.supportedCommChannels is None:
        return None  # the server's own defaults, as on any insert
    return {
        "configs": [{"name": c.name, "value": c.value} for c in element.configs or ()],
        "supportedCommChannels": list(element.supportedCommChannels or ()),
    }


def _deactivate_others(
    conn: sqlite3.Connection, group_id: int, target_id: int, written: set[int], stamp: Stamp
) -> None:
    rows = conn.execute(
        "SELECT * FROM communications WHERE targetGroupId = ? AND targetId = ? AND active = 1",
        (group_id, target_id),
    ).fetchall()
    for row in rows:
        if row["id"] in written:
            continue
        conn.execute(
            "UPDATE communications SET active = 0, lastUpdatedOn = ?, lastUpdatedBy = ?, "
            "writtenAt = ?, previous = ? WHERE id = ?",
            (stamp.at, stamp.who, stamp.written, _snapshot(row), row["id"]),
        )


def _snapshot(row: sqlite3.Row) -> str:
    """The row as a lagging read still shows it (FaultConfig.read_lag_ms)."""
    return json.dumps(
        {"communication": communication_json(row), "serverFields": server_fields(row)}
    )


def _dumps(fields: ServerFieldsJSON | None) -> str | None:
    return None if fields is None else json.dumps(fields)


def check_elements(
    conn: sqlite3.Connection,
    group_id: int,
    target_id: int,
    elements: Sequence[UpsertElement],
    *,
    by_id: bool = True,
) -> None:
    """Every problem the database reveals in an upsert body, reported together as one 400.
    Without ``by_id`` (a dialect that ignores ``id``) only the channels are checked."""
    channels = {row[0] for row in conn.execute("SELECT id FROM channels")}
    problems: list[ErrorJSON] = []
    seen: set[int] = set()
    for index, element in enumerate(elements):
        where = f"body[{index}]"
        if element.channelId not in channels:
            problems.append(
                _invalid(f"{where}.channelId: channel {element.channelId} does not exist")
            )
        if element.id is None or not by_id:
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
