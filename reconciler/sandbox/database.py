"""The sandbox's SQLite plumbing: a connection per thread, read and write transactions, and the
schema check. What the rows mean belongs to ``store``; the DDL to ``tables``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.sandbox.tables import SCHEMA_VERSION, TABLES, create_schema, migrate

BUSY_TIMEOUT_S = 30.0


def check_db_path(path: Path, *, label: str = "sandbox database", create: str = "") -> None:
    """Refuse a database path that cannot be a file, as one line: a directory, or a file in a
    directory that does not exist (a mistyped path is not created). A missing parent named
    ``create`` (``.reconciler``, the default's) is made."""
    if path.is_dir():
        raise ConfigError(f"{label} {path} is a directory; give the path of a file in it")
    parent = path.parent
    if not parent.exists() and create and parent.name == create and parent.parent.is_dir():
        parent.mkdir()
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise ConfigError(f"{label} {path}: the directory {parent} {what}; create it first")


class Database:
    """Safe for concurrent requests and for several processes on one file (WAL, busy timeout,
    a connection per thread, ``BEGIN IMMEDIATE`` for writes): any thread may call it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection per thread, kept open: opening is cheap, but closing the last
        # connection of a WAL database checkpoints and deletes the WAL, ~1 ms per request.
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

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

    def ensure_schema(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # WAL lets readers and one writer work at once; the mode is stored in the file.
            self._connection().execute("PRAGMA journal_mode = WAL")
            with self._write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    create_schema(conn)
                elif version != SCHEMA_VERSION and not migrate(conn, version):
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
