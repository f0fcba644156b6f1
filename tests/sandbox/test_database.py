"""State in SQLite: it survives restarts, is shared by processes (``sandbox serve`` in another
one), is safe under concurrency, and is refused when it is not this schema (issue 3, acceptance
3). ``test_server.py`` has the other ways to run the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from reconciler.errors import ConfigError
from reconciler.sandbox import (
    SandboxServer,
    open_store,
    reset,
    running_sandbox_url,
)
from tests.support.sandbox import BASIC, SEED_DOC_BODY, SEED_DOC_COOKIE, comms, element, upsert

ROOT = Path(__file__).resolve().parents[2]


def test_state_survives_a_restart(sandbox_db: Path) -> None:
    with SandboxServer(sandbox_db) as first:
        written = httpx.post(f"{first.url}{upsert(2163, 2319)}", json=[element()], headers=BASIC)
        assert written.status_code == 200
    with SandboxServer(sandbox_db) as second:
        assert second.store.request_log()[0].committed  # the log persisted too
        live = httpx.get(f"{second.url}{comms(2163, 2319)}", headers=BASIC).json()["data"]
    assert [c["id"] for c in live] == [written.json()["data"][0]["id"]]


def _wait_for_discovery(db: Path, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        url = running_sandbox_url(db)
        if url is not None:
            return url
        if process.poll() is not None:
            raise AssertionError(f"sandbox serve exited: {process.communicate()}")
        time.sleep(0.05)
    raise AssertionError("sandbox serve did not announce itself")


def test_two_processes_on_one_database_see_one_world(sandbox: SandboxServer) -> None:
    """`reconciler sandbox serve` in another process, and this process's server, share a db."""
    db = sandbox.store.path
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "reconciler",
        "sandbox",
        "serve",
        "--port",
        "0",
        "--db",
        str(db),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        other = _wait_for_discovery(db, process)
        assert other != sandbox.url
        here = httpx.post(f"{sandbox.url}{upsert(2163, 2319)}", json=[element()], headers=BASIC)
        there = httpx.post(
            f"{other}{upsert(2163, 2319)}", json=[element(channelId=2)], headers=BASIC
        )
        # The seed document's own request, answered by `reconciler sandbox serve` (acceptance 1).
        documented = httpx.post(
            f"{other}{upsert(2163, 2319)}",
            content=SEED_DOC_BODY.encode(),
            headers={**BASIC, "Content-Type": "application/json", "Cookie": SEED_DOC_COOKIE},
        )
        assert documented.status_code == 200
        assert documented.json()["errors"] is None
        ids = {
            here.json()["data"][0]["id"],
            there.json()["data"][0]["id"],
            documented.json()["data"][0]["id"],
        }
        for url in (sandbox.url, other):
            live = httpx.get(f"{url}{comms(2163, 2319)}", headers=BASIC).json()["data"]
            assert {c["id"] for c in live} == ids
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert running_sandbox_url(db) is None  # the discovery file went with the process
    assert not (db.parent / "sandbox.json").exists()


def test_concurrent_writes_all_land(sandbox: SandboxServer) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with httpx.Client(base_url=sandbox.url, headers=BASIC) as client:
                for i in range(10):
                    body = [element(messageTemplate=f"writer {n} message {i}")]
                    assert client.post(upsert(2163, 2319), json=body).status_code == 200
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    live = sandbox.store.communications(2163, 2319)
    assert len(live) == 80
    assert len({c["id"] for c in live}) == 80
    assert sum(1 for r in sandbox.store.request_log() if r.committed) == 80


def test_two_stores_on_one_file_write_concurrently(sandbox_db: Path) -> None:
    stores = [open_store(sandbox_db), open_store(sandbox_db)]

    def writer(n: int) -> None:
        for i in range(25):
            stores[n % 2].put_communication(
                2163, 2319, communication_type="CHANGE", channel_id=3,
                message_template=f"{n}/{i}", sender="NWREWARDS",
            )  # fmt: skip

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stores[0].communications(2163, 2319)) == 100
    assert stores[0].communications(2163, 2319) == stores[1].communications(2163, 2319)


def test_reset_while_serving_is_seen_at_once(sandbox: SandboxServer) -> None:
    httpx.post(f"{sandbox.url}{upsert(2163, 2319)}", json=[element()], headers=BASIC)
    reset(sandbox.store.path)
    assert httpx.get(f"{sandbox.url}{comms(2163, 2319)}", headers=BASIC).json()["data"] == []


def test_reset_replaces_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    db.write_text("this is not SQLite\n" * 100)
    with pytest.raises(ConfigError, match="reconciler sandbox reset"):
        open_store(db)
    reset(db)
    assert len(open_store(db).channels()) == 3


def test_a_database_of_another_schema_version_is_refused(sandbox_db: Path) -> None:
    import sqlite3

    with sqlite3.connect(sandbox_db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigError, match="schema version 99"):
        open_store(sandbox_db)
