"""The sandbox database's tables: their DDL, the records seeding writes in bulk, the lookups by
id, and how a row reads as the API's JSON. No transactions here; ``store`` owns those.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.envelope import (
    GROUP_NOT_FOUND,
    TARGET_NOT_FOUND,
    ApiFailure,
    iso_timestamp,
)
from reconciler.sandbox.models import (
    ActorJSON,
    CommunicationJSON,
    ServerFieldsJSON,
    TargetGroupJSON,
    TargetJSON,
)

SCHEMA_VERSION = 2
SEED_TIME = "2026-01-05T09:00:00.000+0000"
# Who wrote the demo data, and who "edits in the UI" when a test writes out of band.
SEED_ACTOR: ActorJSON = {
    "id": 75155297,
    "code": "tj_capillary",
    "description": "",
    "name": "tj_capillary",
    "type": "TILL",
}
UI_ACTOR: ActorJSON = {
    "id": 50012873,
    "code": "ui.admin",
    "description": "Loyalty admin (InTouch UI)",
    "name": "ui.admin",
    "type": "ADMIN_USER",
}


def ui_actor(name: str) -> ActorJSON:
    """An admin user of the UI called ``name`` (``Jane Doe`` is code ``jane.doe``), with an id
    that stays the same for the same name: who ``reconciler sandbox edit --as`` acts as."""
    import hashlib

    code = ".".join(name.lower().split()) or UI_ACTOR["code"]
    number = int.from_bytes(hashlib.sha256(name.encode()).digest()[:3], "big")
    return {
        "id": 50_000_000 + number,
        "code": code,
        "description": "Loyalty admin (InTouch UI)",
        "name": name or UI_ACTOR["name"],
        "type": "ADMIN_USER",
    }


# Children before parents, so they can be dropped in this order.
TABLES = ("request_log", "oauth_tokens", "communications", "targets", "target_groups", "channels")
SCHEMA = (
    "CREATE TABLE channels (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    """CREATE TABLE target_groups (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL,
        active INTEGER NOT NULL, fromDate TEXT NOT NULL, toDate TEXT NOT NULL,
        createdOn TEXT NOT NULL, createdBy TEXT NOT NULL)""",
    """CREATE TABLE targets (
        id INTEGER PRIMARY KEY, targetGroupId INTEGER NOT NULL REFERENCES target_groups(id),
        name TEXT NOT NULL, description TEXT NOT NULL, active INTEGER NOT NULL,
        createdOn TEXT NOT NULL, createdBy TEXT NOT NULL)""",
    "CREATE INDEX targets_by_group ON targets(targetGroupId, id)",
    # writtenAt and previous exist only for FaultConfig.read_lag_ms: a lagging read shows the
    # version before the last write while that write is younger than the lag. serverFields
    # (JSON ``{configs, supportedCommChannels}``) is NULL until something sets them.
    """CREATE TABLE communications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        targetGroupId INTEGER NOT NULL, targetId INTEGER NOT NULL REFERENCES targets(id),
        communicationType TEXT NOT NULL, channelId INTEGER NOT NULL REFERENCES channels(id),
        subjectTemplate TEXT NOT NULL, messageTemplate TEXT NOT NULL, sender TEXT NOT NULL,
        offsetDays INTEGER NOT NULL, active INTEGER NOT NULL,
        createdOn TEXT NOT NULL, lastUpdatedOn TEXT NOT NULL,
        createdBy TEXT NOT NULL, lastUpdatedBy TEXT NOT NULL,
        writtenAt REAL NOT NULL, previous TEXT, serverFields TEXT)""",
    "CREATE INDEX communications_by_target ON communications(targetGroupId, targetId, id)",
    # Tokens are stored hashed: the database file never holds a usable credential.
    """CREATE TABLE oauth_tokens (
        tokenSha256 TEXT PRIMARY KEY, clientKey TEXT NOT NULL, expiresAt REAL NOT NULL)""",
    """CREATE TABLE request_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, method TEXT NOT NULL, path TEXT NOT NULL,
        status INTEGER NOT NULL, committed INTEGER NOT NULL, fault TEXT, actor TEXT,
        at REAL NOT NULL)""",
)

# version -> the statements that bring a database of that version to the next one.
MIGRATIONS = {1: ("ALTER TABLE communications ADD COLUMN serverFields TEXT",)}


@dataclass(frozen=True)
class GroupSeed:
    id: int
    name: str
    description: str = ""
    active: bool = True
    from_date: str = "2026-01-01"
    to_date: str = "2026-12-31"
    created_on: str = SEED_TIME
    created_by: ActorJSON = field(default_factory=lambda: SEED_ACTOR)


@dataclass(frozen=True)
class TargetSeed:
    group_id: int
    id: int
    name: str
    description: str = ""
    active: bool = True
    created_on: str = SEED_TIME
    created_by: ActorJSON = field(default_factory=lambda: SEED_ACTOR)


@dataclass(frozen=True)
class CommunicationSeed:
    """A live communication written directly, with the attribution it should show."""

    group_id: int
    target_id: int
    communication_type: str
    channel_id: int
    message_template: str
    sender: str
    subject_template: str = ""
    offset_days: int = 0
    active: bool = True
    id: int | None = None
    created_on: str = SEED_TIME
    last_updated_on: str | None = None
    created_by: ActorJSON = field(default_factory=lambda: SEED_ACTOR)
    last_updated_by: ActorJSON | None = None
    server_fields: ServerFieldsJSON | None = None


def create_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def migrate(conn: sqlite3.Connection, version: int) -> bool:
    """Bring a database of an older ``version`` to ``SCHEMA_VERSION``; False if none leads there."""
    while version in MIGRATIONS:
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
        version += 1
    if version != SCHEMA_VERSION:
        return False
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return True


def server_fields(row: sqlite3.Row) -> ServerFieldsJSON | None:
    """The row's server-side fields, or None if nothing ever set them."""
    text: str | None = row["serverFields"]
    fields: ServerFieldsJSON | None = None if text is None else json.loads(text)
    return fields


def communication_json(row: sqlite3.Row) -> CommunicationJSON:
    # Key order follows the response example of the upsert documentation.
    return {
        "id": row["id"],
        "attribution": {
            "createdOn": row["createdOn"],
            "lastUpdatedOn": row["lastUpdatedOn"],
            "lastUpdatedBy": json.loads(row["lastUpdatedBy"]),
            "createdBy": json.loads(row["createdBy"]),
        },
        "targetId": row["targetId"],
        "targetGroupId": row["targetGroupId"],
        "communicationType": row["communicationType"],
        "channelId": row["channelId"],
        "subjectTemplate": row["subjectTemplate"],
        "messageTemplate": row["messageTemplate"],
        "sender": row["sender"],
        "offsetDays": row["offsetDays"],
        "active": bool(row["active"]),
    }


def _created_attribution(actor: ActorJSON, created: str) -> Any:
    """Attribution of an object nobody has edited since it was created (groups, targets)."""
    return {
        "createdOn": created,
        "createdOnISO": iso_timestamp(created),
        "lastUpdatedOn": created,
        "lastUpdatedOnISO": iso_timestamp(created),
        "createdBy": actor,
        "lastUpdatedBy": actor,
    }


def group_json(row: sqlite3.Row) -> TargetGroupJSON:
    actor: ActorJSON = json.loads(row["createdBy"])
    return {
        "id": row["id"],
        "attribution": _created_attribution(actor, row["createdOn"]),
        "name": row["name"],
        "description": row["description"],
        "fromDate": row["fromDate"],
        "toDate": row["toDate"],
        "active": bool(row["active"]),
        "preferredTillId": actor["id"],
        "totalPeriods": 1,
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "trackingType": "DEFAULT",
        "frequencyType": "MONTHLY",
        "frequency": 0,
        "recurringCycles": -1,
    }


def target_json(row: sqlite3.Row) -> TargetJSON:
    actor: ActorJSON = json.loads(row["createdBy"])
    return {
        "id": row["id"],
        "attribution": _created_attribution(actor, row["createdOn"]),
        "name": row["name"],
        "targetGroupId": row["targetGroupId"],
        "description": row["description"],
        "active": bool(row["active"]),
        "targetType": "ACTIVITY",
        "targetEntity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "enrolmentMethod": "TRANSACTION",
        "expression": "true",
    }


def require_group(conn: sqlite3.Connection, group_id: int) -> sqlite3.Row:
    """The group's row, or ``ApiFailure`` 404."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM target_groups WHERE id = ?", (group_id,)
    ).fetchone()
    if row is None:
        raise ApiFailure(404, GROUP_NOT_FOUND, f"target group {group_id} not found")
    return row


def require_target(conn: sqlite3.Connection, group_id: int, target_id: int) -> sqlite3.Row:
    """The target's row, or ``ApiFailure`` 404 naming the group or the target."""
    require_group(conn, group_id)
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM targets WHERE id = ? AND targetGroupId = ?", (target_id, group_id)
    ).fetchone()
    if row is None:
        raise ApiFailure(
            404, TARGET_NOT_FOUND, f"target {target_id} not found in target group {group_id}"
        )
    return row


def fetch_communication(conn: sqlite3.Connection, communication_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM communications WHERE id = ?", (communication_id,)
    ).fetchone()
    return row
