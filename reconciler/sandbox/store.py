"""The sandbox's state as the API sees it: programme, communications, OAuth tokens and the
request log. Rejections are ``ApiFailure`` values; sockets and routes belong to the app,
connections and transactions to ``database``, the upsert's rules to ``upsert``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from reconciler.sandbox.database import Database
from reconciler.sandbox.dialects import DEFAULT, Dialect
from reconciler.sandbox.envelope import now, timestamp
from reconciler.sandbox.models import (
    ActorJSON,
    ChannelJSON,
    CommunicationJSON,
    ConfigJSON,
    ServerFieldsJSON,
    TargetGroupJSON,
    TargetJSON,
    UpsertElement,
)
from reconciler.sandbox.tables import (
    UI_ACTOR,
    CommunicationSeed,
    GroupSeed,
    TargetSeed,
    communication_json,
    fetch_communication,
    group_json,
    require_group,
    require_target,
    server_fields,
    target_json,
)
from reconciler.sandbox.upsert import Stamp, write_elements

_T = TypeVar("_T")

DEFAULT_DB_PATH = Path(".reconciler/sandbox.db")


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


class Store(Database):
    """The sandbox's state. Each thread gets its own connection, so any thread may call it."""

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
                "server_fields": None if c.server_fields is None else json.dumps(c.server_fields),
            }
            for c in communications
        ]
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO communications VALUES (:id, :group_id, :target_id, "
                ":communication_type, :channel_id, :subject_template, :message_template, "
                ":sender, :offset_days, :active, :created_on, :last_updated_on, :created_by, "
                ":last_updated_by, 0.0, NULL, :server_fields)",
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
            row = require_group(conn, group_id)
        return group_json(row)

    def targets(self, group_id: int) -> list[TargetJSON]:
        with self._read() as conn:
            require_group(conn, group_id)
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
        return [c for c, _ in self.stored_communications(group_id, target_id, lag_ms=lag_ms)]

    def stored_communications(
        self, group_id: int, target_id: int, *, lag_ms: int = 0
    ) -> list[tuple[CommunicationJSON, ServerFieldsJSON | None]]:
        """``communications``, each with its server fields (None: nothing ever set them)."""
        with self._read() as conn:
            require_target(conn, group_id, target_id)
            rows = conn.execute(
                "SELECT * FROM communications WHERE targetGroupId = ? AND targetId = ? ORDER BY id",
                (group_id, target_id),
            ).fetchall()
        if not lag_ms:
            return [(communication_json(row), server_fields(row)) for row in rows]
        horizon = time.time() - lag_ms / 1000
        visible: list[tuple[CommunicationJSON, ServerFieldsJSON | None]] = []
        for row in rows:
            if row["writtenAt"] <= horizon:
                visible.append((communication_json(row), server_fields(row)))
            elif row["previous"] is not None:
                before = json.loads(row["previous"])
                if "communication" not in before:  # written by schema version 1
                    before = {"communication": before, "serverFields": None}
                visible.append((before["communication"], before["serverFields"]))
        return visible

    def set_server_fields(
        self,
        id: int,
        configs: Sequence[ConfigJSON] = (),
        supported_comm_channels: Sequence[str] = (),
    ) -> None:
        """Set a communication's server-side fields out of band, as the server itself would."""
        fields: ServerFieldsJSON = {
            "configs": [{"name": c["name"], "value": c["value"]} for c in configs],
            "supportedCommChannels": list(supported_comm_channels),
        }
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE communications SET serverFields = ? WHERE id = ?", (json.dumps(fields), id)
            )
        if cursor.rowcount != 1:
            raise KeyError(f"communication {id} does not exist")

    def upsert(
        self,
        group_id: int,
        target_id: int,
        elements: Sequence[UpsertElement],
        actor: ActorJSON,
        *,
        at: datetime | None = None,
        dialect: Dialect = DEFAULT,
    ) -> list[CommunicationJSON]:
        """Apply one upsert body in one transaction: all elements are written, or none.

        An element with ``id`` updates that communication of this target; one without inserts
        (``dialect`` may match otherwise: see ``upsert.write_elements``). Returns the stored
        communications in the order of ``elements``.
        """
        stamp = Stamp(json.dumps(actor), timestamp(at or now()), time.time())
        with self._write() as conn:
            require_target(conn, group_id, target_id)
            ids = write_elements(conn, group_id, target_id, elements, stamp, dialect)
            rows = [fetch_communication(conn, i) for i in ids]
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
            row = fetch_communication(conn, id)
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
