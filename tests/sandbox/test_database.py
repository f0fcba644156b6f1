"""State in SQLite: it survives restarts, is shared by processes, and is safe under concurrency;
plus the ways to run the sandbox (issue 3, acceptance 3)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import BASIC, SEED_DOC_BODY, SEED_DOC_COOKIE, comms, element, upsert

from reconciler.errors import ConfigError, UsageError
from reconciler.sandbox import (
    IN_PROCESS_URL,
    SandboxServer,
    in_process_transport,
    open_store,
    reset,
    running_sandbox_url,
    serve,
)

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


def test_discovery_ignores_dead_processes_and_other_databases(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    discovery = tmp_path / "sandbox.json"
    assert running_sandbox_url(db) is None
    discovery.write_text(
        json.dumps({"url": "http://127.0.0.1:1", "pid": os.getpid(), "db": str(db)})
    )
    assert running_sandbox_url(db) == "http://127.0.0.1:1"
    assert running_sandbox_url(tmp_path / "other.db") is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    discovery.write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": dead.pid, "db": str(db)}))
    assert running_sandbox_url(db) is None
    discovery.write_text("{not json")
    assert running_sandbox_url(db) is None


def test_an_announced_server_is_found_until_it_stops(sandbox_db: Path) -> None:
    with SandboxServer(sandbox_db, announce=True) as server:
        assert running_sandbox_url(sandbox_db) == server.url
    assert running_sandbox_url(sandbox_db) is None


def test_in_process_transport_seeds_a_missing_database(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "sandbox.db"

    async def main() -> list[dict[str, object]]:
        transport = in_process_transport(db)
        async with httpx.AsyncClient(
            transport=transport, base_url=IN_PROCESS_URL, headers=BASIC
        ) as client:
            response = await client.get("/v3/targetGroups/channels")
            return list(response.json()["data"])

    assert [c["name"] for c in asyncio.run(main())] == ["SMS", "EMAIL", "MOBILE PUSH"]
    assert db.exists()
    assert open_store(db).request_log()[0].path == "/v3/targetGroups/channels"


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


# Refused before anything binds: no socket is ever opened on these.
@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])  # noqa: S104
def test_only_loopback_may_be_served(sandbox_db: Path, host: str) -> None:
    with pytest.raises(UsageError, match="loopback only"):
        serve(host, 0, sandbox_db)
    with pytest.raises(UsageError, match="loopback only"):
        SandboxServer(sandbox_db, host=host)


def test_a_busy_port_is_a_usage_error(sandbox_db: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve("127.0.0.1", port, sandbox_db)
    assert not (sandbox_db.parent / "sandbox.json").exists()


def test_ipv6_loopback_works(sandbox_db: Path) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    server = SandboxServer(sandbox_db, host="::1")
    try:
        server.start()
    except OSError:
        pytest.skip("IPv6 loopback is not configured")
    try:
        assert server.url.startswith("http://[::1]:")
        assert httpx.get(f"{server.url}/v3/targetGroups", headers=BASIC).status_code == 200
    finally:
        server.stop()
