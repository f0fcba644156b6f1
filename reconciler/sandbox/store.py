"""SQLite state of the sandbox: programme, communications, OAuth tokens and the request log.

Safe for concurrent requests and for several processes on one file (WAL, busy timeout, a
connection per thread, ``BEGIN IMMEDIATE`` for writes). Rejections are ``ApiFailure`` values;
sockets and routes belong to the app.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from reconciler.errors import ConfigError
from reconciler.sandbox.envelope import (
    GROUP_NOT_FOUND,
    INVALID_INPUT,
    TARGET_NOT_FOUND,
    ApiFailure,
    now,
    timestamp,
)
from reconciler.sandbox.models import (
    ActorJSON,
    ChannelJSON,
    CommunicationJSON,
    ErrorJSON,
    TargetGroupJSON,
    TargetJSON,
    UpsertElement,
)
from reconciler.sandbox.tables import (
    SCHEMA_VERSION,
    TABLES,
    UI_ACTOR,
    CommunicationSeed,
    GroupSeed,
    TargetSeed,
    communication_json,
    create_schema,
    group_json,
    target_json,
)

_T = TypeVar("_T")

DEFAULT_DB_PATH = Path(".reconciler/sandbox.db")
BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox answered it. ``status`` is 0 when the connection was dropped."""

    seq: int
    method: str
    path: str
    status: int
    committed: bool
    fault: str | None
    actor: str | None
    at: float

    @property
    def is_write(self) -> bool:
        return self.method == "POST" and self.path.endswith("/communications/upsert")


def open_store(path: Path | str = DEFAULT_DB_PATH) -> Store:
    """Open (creating if needed) the sandbox database at ``path``."""
    store = Store(Path(path))
    store.ensure_schema()
    return store


class Store:
    """The sandbox's state. Each thread gets its own connection, so any thread may call it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection per thread, kept open: opening is cheap, but closing the last
        # connection of a WAL database checkpoints and deletes the WAL, ~1 ms per request.
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    # -- connections ---------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened (in any thread); it reopens on next use."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._local = threading.local()
        for conn in connections:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken up front so it never deadlocks."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every SELECT inside sees the same snapshot."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")

    # -- schema --------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # WAL lets readers and one writer work at once; the mode is stored in the file.
            self._connection().execute("PRAGMA journal_mode = WAL")
            with self._write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    create_schema(conn)
                elif version != SCHEMA_VERSION:
                    raise ConfigError(
                        f"sandbox database {self.path} has schema version {version}, this "
                        f"reconciler expects {SCHEMA_VERSION}; run `reconciler sandbox reset`"
                    )
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"{self.path} is not a usable sandbox database ({exc}); "
                "run `reconciler sandbox reset`"
            ) from exc

    def recreate(self) -> None:
        """Drop every table and create them empty, in one transaction (a running server sees it)."""
        with self._write() as conn:
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").fetchone():
                conn.execute("DELETE FROM sqlite_sequence")
            create_schema(conn)

    # -- programme -----------------------------------------------------------------------

    def add_channel(self, id: int, name: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO channels (id, name) VALUES (?, ?)", (id, name))

    def add_group(self, id: int, name: str, description: str = "", active: bool = True) -> None:
        self.add_groups([GroupSeed(id, name, description, active)])

    def add_target(
        self, group_id: int, id: int, name: str, description: str = "", active: bool = True
    ) -> None:
        self.add_targets([TargetSeed(group_id, id, name, description, active)])

    def add_groups(self, groups: Iterable[GroupSeed]) -> None:
        # vars(), not asdict(): a shallow copy; asdict deep-copies and doubles seeding time.
        rows = [{**vars(g), "created_by": json.dumps(g.created_by)} for g in groups]
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO target_groups VALUES (:id, :name, :description, :active, "
                ":from_date, :to_date, :created_on, :created_by)",
                rows,
            )

    def add_targets(self, targets: Iterable[TargetSeed]) -> None:
        rows = [{**vars(t), "created_by": json.dumps(t.created_by)} for t in targets]
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO targets VALUES (:id, :group_id, :name, :description, :active, "
                ":created_on, :created_by)",
                rows,
            )

    def add_communications(self, communications: Iterable[CommunicationSeed]) -> None:
        """Bulk insert with the given attribution (seeding; no validation beyond the schema's)."""
        rows = [
            {
                **vars(c),
                "last_updated_on": c.last_updated_on or c.created_on,
                "created_by": json.dumps(c.created_by),
                "last_updated_by": json.dumps(c.last_updated_by or c.created_by),
            }
            for c in communications
        ]
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO communications VALUES (:id, :group_id, :target_id, "
                ":communication_type, :channel_id, :subject_template, :message_template, "
                ":sender, :offset_days, :active, :created_on, :last_updated_on, :created_by, "
                ":last_updated_by, 0.0, NULL)",
                rows,
            )

    def channels(self) -> list[ChannelJSON]:
        with self._read() as conn:
            rows = conn.execute("SELECT id, name FROM channels ORDER BY id").fetchall()
        return [{"id": row["id"], "name": row["name"]} for row in rows]

    def groups(self, *, only_active: bool = False) -> list[TargetGroupJSON]:
        query = "SELECT * FROM target_groups ORDER BY id"
        if only_active:
            query = "SELECT * FROM target_groups WHERE active = 1 ORDER BY id"
        with self._read() as conn:
            rows = conn.execute(query).fetchall()
        return [group_json(row) for row in rows]

    def group(self, group_id: int) -> TargetGroupJSON:
        """The group, or ``ApiFailure`` 404."""
        with self._read() as conn:
            row = _require_group(conn, group_id)
        return group_json(row)

    def targets(self, group_id: int) -> list[TargetJSON]:
        with self._read() as conn:
            _require_group(conn, group_id)
            rows = conn.execute(
                "SELECT * FROM targets WHERE targetGroupId = ? ORDER BY id", (group_id,)
            ).fetchall()
        return [target_json(row) for row in rows]

    # -- communications ------------------------------------------------------------------

    def communications(
        self, group_id: int, target_id: int, *, lag_ms: int = 0
    ) -> list[CommunicationJSON]:
        """A target's communications (inactive ones too), by id; 404 ``ApiFailure`` if unknown.

        With ``lag_ms``, writes younger than that are not visible yet (read-after-write lag).
        """
        with self._read() as conn:
            _require_target(conn, group_id, target_id)
            rows = conn.execute(
                "SELECT * FROM communications WHERE targetGroupId = ? AND targetId = ? ORDER BY id",
                (group_id, target_id),
            ).fetchall()
        if not lag_ms:
            return [communication_json(row) for row in rows]
        horizon = time.time() - lag_ms / 1000
        visible: list[CommunicationJSON] = []
        for row in rows:
            if row["writtenAt"] <= horizon:
                visible.append(communication_json(row))
            elif row["previous"] is not None:
                visible.append(json.loads(row["previous"]))
        return visible

    def upsert(
        self,
        group_id: int,
        target_id: int,
        elements: Sequence[UpsertElement],
        actor: ActorJSON,
        *,
        at: datetime | None = None,
    ) -> list[CommunicationJSON]:
        """Apply one upsert body in one transaction: all elements are written, or none.

        An element with ``id`` updates that communication of this target; one without inserts.
        Returns the stored communications in the order of ``elements``.
        """
        stamp = timestamp(at or now())
        who = json.dumps(actor)
        written = time.time()
        with self._write() as conn:
            _require_target(conn, group_id, target_id)
            _check_elements(conn, group_id, target_id, elements)
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
                        "INSERT INTO communications (targetGroupId, targetId, communicationType, "
                        "channelId, subjectTemplate, messageTemplate, sender, offsetDays, active, "
                        "createdOn, lastUpdatedOn, createdBy, lastUpdatedBy, writtenAt, previous) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                        (group_id, target_id, *values, stamp, stamp, who, who, written),
                    )
                    assert cursor.lastrowid is not None
                    ids.append(cursor.lastrowid)
                else:
                    old = _fetch_communication(conn, element.id)
                    assert old is not None  # _check_elements proved it exists
                    conn.execute(
                        "UPDATE communications SET communicationType = ?, channelId = ?, "
                        "subjectTemplate = ?, messageTemplate = ?, sender = ?, offsetDays = ?, "
                        "active = ?, lastUpdatedOn = ?, lastUpdatedBy = ?, writtenAt = ?, "
                        "previous = ? WHERE id = ?",
                        (
                            *values,
                            stamp,
                            who,
                            written,
                            json.dumps(communication_json(old)),
                            element.id,
                        ),
                    )
                    ids.append(element.id)
            rows = [_fetch_communication(conn, i) for i in ids]
        return [communication_json(row) for row in rows if row is not None]

    def put_communication(
        self,
        group_id: int,
        target_id: int,
        *,
        communication_type: str,
        channel_id: int,
        message_template: str,
        sender: str,
        subject_template: str = "",
        offset_days: int = 0,
        active: bool = True,
        id: int | None = None,
        actor: ActorJSON = UI_ACTOR,
        at: datetime | None = None,
    ) -> CommunicationJSON:
        """Write one communication out of band, as someone in the UI would (tests, demos)."""
        element = UpsertElement.model_validate(
            {
                "id": id,
                "active": active,
                "channelId": channel_id,
                "communicationType": communication_type,
                "messageTemplate": message_template,
                "offsetDays": offset_days,
                "sender": sender,
                "subjectTemplate": subject_template,
            }
        )
        return self.upsert(group_id, target_id, [element], actor, at=at)[0]

    def edit_communication(
        self,
        id: int,
        *,
        subject_template: str | None = None,
        message_template: str | None = None,
        sender: str | None = None,
        offset_days: int | None = None,
        active: bool | None = None,
        actor: ActorJSON = UI_ACTOR,
        at: datetime | None = None,
    ) -> CommunicationJSON:
        """Change some fields of one communication out of band, as an edit in the UI would."""
        with self._read() as conn:
            row = _fetch_communication(conn, id)
        if row is None:
            raise KeyError(f"communication {id} does not exist")
        old = communication_json(row)
        return self.put_communication(
            old["targetGroupId"],
            old["targetId"],
            id=id,
            communication_type=old["communicationType"],
            channel_id=old["channelId"],
            subject_template=_pick(subject_template, old["subjectTemplate"]),
            message_template=_pick(message_template, old["messageTemplate"]),
            sender=_pick(sender, old["sender"]),
            offset_days=_pick(offset_days, old["offsetDays"]),
            active=_pick(active, old["active"]),
            actor=actor,
            at=at,
        )

    # -- OAuth tokens --------------------------------------------------------------------

    def save_token(self, token_sha256: str, client_key: str, expires_at: float) -> None:
        with self._write() as conn:
            # Housekeeping: tokens expired for an hour are of no use to anyone.
            conn.execute("DELETE FROM oauth_tokens WHERE expiresAt < ?", (time.time() - 3600,))
            conn.execute(
                "INSERT INTO oauth_tokens VALUES (?, ?, ?)", (token_sha256, client_key, expires_at)
            )

    def token(self, token_sha256: str) -> tuple[str, float] | None:
        """``(client key, expires at)`` of a token, or None if it was never issued."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT clientKey, expiresAt FROM oauth_tokens WHERE tokenSha256 = ?",
                (token_sha256,),
            ).fetchone()
        return None if row is None else (row["clientKey"], row["expiresAt"])

    def expire_tokens(self) -> None:
        """Make every issued token expired now (tests of renewal)."""
        with self._write() as conn:
            conn.execute("UPDATE oauth_tokens SET expiresAt = ?", (time.time() - 1,))

    # -- request log ---------------------------------------------------------------------

    def log_request(
        self,
        method: str,
        path: str,
        status: int,
        *,
        committed: bool = False,
        fault: str | None = None,
        actor: str | None = None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO request_log (method, path, status, committed, fault, actor, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (method, path, status, committed, fault, actor, time.time()),
            )

    def request_log(self) -> list[RequestRecord]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM request_log ORDER BY seq").fetchall()
        return [
            RequestRecord(
                seq=row["seq"],
                method=row["method"],
                path=row["path"],
                status=row["status"],
                committed=bool(row["committed"]),
                fault=row["fault"],
                actor=row["actor"],
                at=row["at"],
            )
            for row in rows
        ]

    def clear_request_log(self) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM request_log")


# -- helpers ---------------------------------------------------------------------------------


def _pick(new: _T | None, old: _T) -> _T:
    return old if new is None else new


def _require_group(conn: sqlite3.Connection, group_id: int) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM target_groups WHERE id = ?", (group_id,)
    ).fetchone()
    if row is None:
        raise ApiFailure(404, GROUP_NOT_FOUND, f"target group {group_id} not found")
    return row


def _require_target(conn: sqlite3.Connection, group_id: int, target_id: int) -> sqlite3.Row:
    _require_group(conn, group_id)
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM targets WHERE id = ? AND targetGroupId = ?", (target_id, group_id)
    ).fetchone()
    if row is None:
        raise ApiFailure(
            404, TARGET_NOT_FOUND, f"target {target_id} not found in target group {group_id}"
        )
    return row


def _check_elements(
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
        row = _fetch_communication(conn, element.id)
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


def _fetch_communication(conn: sqlite3.Connection, communication_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM communications WHERE id = ?", (communication_id,)
    ).fetchone()
    return row
