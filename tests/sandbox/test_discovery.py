"""``.reconciler/sandbox.json`` cannot redirect traffic (issue 14 item 14).

``sandbox serve`` writes the discovery file; clients of ``endpoint: sandbox`` honour it only
when it is a regular file of this user, not world-writable, naming this database, a plain
``http://`` URL to a loopback IP literal (127.0.0.0/8 or ::1) and a live process of this user.
Otherwise the file is ignored (a debug line says why) and the in-process sandbox is used.

Where a refused file points at loopback, it points at a listener of this test that counts
connections: it must see none. Where it points off the machine (10.255.255.1), the suite's
loopback guard fails the test on any connection attempt and the DNS guard on any lookup; a
positive control shows the same listener is contacted when the file is trustworthy.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer, reset, running_sandbox_url
from tests.support.cli import Run

ROOT = Path(__file__).resolve().parents[2]
OFF_MACHINE = "http://10.255.255.1:8080"  # never contacted: the guards would fail the test


class Listener:
    """A loopback TCP listener that counts and closes every connection."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose environment is ``sandbox``, with a seeded database."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    (tmp_path / "reconciler.yaml").write_text(
        "environments:\n  sandbox:\n    endpoint: sandbox\n"
        "    vars: {sender: loyalty@northwind.example}\n"
    )
    reset(tmp_path / ".reconciler" / "sandbox.db")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    seen: list[object] = []
    real = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object) -> object:
        if host not in ("127.0.0.1", "::1", "localhost", b"127.0.0.1"):
            seen.append(host)
            raise OSError("tests do no DNS lookups")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return seen


def db_of(repo: Path) -> Path:
    return repo / ".reconciler" / "sandbox.db"


def announce(repo: Path, url: object, pid: object = None, **extra: object) -> Path:
    path = repo / ".reconciler" / "sandbox.json"
    document = {"url": url, "pid": os.getpid() if pid is None else pid}
    document["db"] = str(db_of(repo).resolve())
    document.update(extra)
    path.write_text(json.dumps(document) + "\n")
    path.chmod(0o644)
    return path


def assert_used_the_in_process_sandbox(cli: Run) -> str:
    code, out, err = cli("-v", "plan")
    assert code == 0, err
    assert "Plan: " in out
    return err


# -- controls: a trustworthy file is honoured ---------------------------------------------------


def test_an_announced_server_is_used(repo: Path, cli: Run) -> None:
    with SandboxServer(db_of(repo), announce=True) as server:
        assert running_sandbox_url(db_of(repo)) == server.url
        server.store.clear_request_log()
        code, _, err = cli("plan")
        assert code == 0, err
        assert server.store.request_log()  # the run went to the announced server


def test_a_trustworthy_file_pointing_at_the_listener_is_followed(
    repo: Path, cli: Run, listener: Listener
) -> None:
    """The control for every refusal below: the same listener is contacted when trusted."""
    announce(repo, listener.url)
    assert running_sandbox_url(db_of(repo)) == listener.url
    code, _, _ = cli("plan")
    assert code == 1  # the listener is no API
    assert listener.connections >= 1


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        OFF_MACHINE,
        "http://10.255.255.1",
        "https://10.255.255.1:8443",
        "http://[2001:db8::1]:8080",
        "http://[::ffff:10.255.255.1]:8080",
        "http://sandbox.example:8080",
        "http://127.0.0.1.nip.io:8080",
        "http://0.0.0.0:8080",
        "http://xn--zz:8080",
        12345,
        None,
        ["http://127.0.0.1:1"],
    ],
)
def test_a_url_off_the_machine_is_ignored_and_never_contacted(
    repo: Path, cli: Run, lookups: list[object], loopback_only: list[object], url: object
) -> None:
    announce(repo, url)
    assert running_sandbox_url(db_of(repo)) is None
    err = assert_used_the_in_process_sandbox(cli)
    assert "debug: ignoring" in err
    assert "sandbox.json" in err
    assert loopback_only == []
    assert lookups == []


@pytest.mark.parametrize(
    "shape",
    [
        "http://localhost:{port}",  # a name: resolved by whatever the resolver says
        "http://LOCALHOST:{port}",
        "http://sandbox.localhost:{port}",
        "https://127.0.0.1:{port}",
        "http://user:password@127.0.0.1:{port}",
        "http://127.0.0.1:{port}/elsewhere",
        "http://127.0.0.1:{port}/?x=1",
        "http://127.0.0.1:{port}#x",
        "http://127.0.0.1",  # no port: would be port 80, not what serve writes
        "http://127.0.0.1:0",
        "http://127.0.0.1:{port}\n",
        " http://127.0.0.1:{port}",
    ],
)
def test_a_loopback_url_in_another_shape_than_serve_writes_is_ignored(
    repo: Path, cli: Run, listener: Listener, shape: str
) -> None:
    announce(repo, shape.format(port=listener.port))
    assert running_sandbox_url(db_of(repo)) is None
    assert_used_the_in_process_sandbox(cli)
    assert listener.connections == 0


def test_a_dead_process_is_ignored(repo: Path, cli: Run, listener: Listener) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    announce(repo, listener.url, pid=dead.pid)
    assert running_sandbox_url(db_of(repo)) is None
    err = assert_used_the_in_process_sandbox(cli)
    assert "not running" in err
    assert listener.connections == 0


@pytest.mark.parametrize("pid", [0, -1, True, 2**63, "1", 1.5, None])
def test_a_pid_that_is_no_pid_is_ignored(
    repo: Path, cli: Run, listener: Listener, pid: object
) -> None:
    path = announce(repo, listener.url)
    document = json.loads(path.read_text())
    document["pid"] = pid
    path.write_text(json.dumps(document))
    assert running_sandbox_url(db_of(repo)) is None
    assert_used_the_in_process_sandbox(cli)
    assert listener.connections == 0


def _someone_elses_process() -> Iterator[int]:
    if os.geteuid() == 0:
        # As root there may be no process of another user: start one, as nobody.
        child = subprocess.Popen(["sleep", "60"], user=65534, group=65534, extra_groups=[])
        try:
            deadline = time.monotonic() + 5
            while os.stat(f"/proc/{child.pid}").st_uid != 65534:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            yield child.pid
        finally:
            child.kill()
            child.wait()
        return
    if os.stat("/proc/1").st_uid == os.geteuid():
        pytest.skip("pid 1 is this user's, and there is no other user's process to point at")
    yield 1


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to know owners")
def test_another_users_process_is_ignored(repo: Path, cli: Run, listener: Listener) -> None:
    for pid in _someone_elses_process():
        announce(repo, listener.url, pid=pid)
        assert running_sandbox_url(db_of(repo)) is None
        err = assert_used_the_in_process_sandbox(cli)
        assert "another user" in err
        assert listener.connections == 0


def test_a_world_writable_file_is_ignored(repo: Path, cli: Run, listener: Listener) -> None:
    path = announce(repo, listener.url)
    path.chmod(0o666)
    assert running_sandbox_url(db_of(repo)) is None
    err = assert_used_the_in_process_sandbox(cli)
    assert "writable" in err
    assert listener.connections == 0


def test_a_group_writable_file_of_this_user_is_still_honoured(
    repo: Path, listener: Listener
) -> None:
    """umask 002 (a user-private group) is common; only world-writable is refused."""
    path = announce(repo, listener.url)
    path.chmod(0o664)
    assert running_sandbox_url(db_of(repo)) == listener.url


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_file_of_another_user_is_ignored(repo: Path, cli: Run, listener: Listener) -> None:
    path = announce(repo, listener.url)
    os.chown(path, 65534, 65534)
    assert running_sandbox_url(db_of(repo)) is None
    assert_used_the_in_process_sandbox(cli)
    assert listener.connections == 0


def test_a_symlinked_file_is_ignored(
    repo: Path, cli: Run, listener: Listener, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    real = announce(repo, listener.url)
    real.rename(elsewhere)
    real.symlink_to(elsewhere)
    assert running_sandbox_url(db_of(repo)) is None
    assert_used_the_in_process_sandbox(cli)
    assert listener.connections == 0


def test_a_file_that_is_no_file_is_ignored(repo: Path, cli: Run) -> None:
    path = repo / ".reconciler" / "sandbox.json"
    os.mkfifo(path)  # opening it for reading would block for ever
    assert running_sandbox_url(db_of(repo)) is None
    path.unlink()
    path.mkdir()
    assert running_sandbox_url(db_of(repo)) is None
    assert_used_the_in_process_sandbox(cli)


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[]", b"null", b'{"url": 1}', b"\xff\xfe", b"[" * 100_000],
)
def test_a_malformed_file_is_ignored(repo: Path, content: bytes) -> None:
    (repo / ".reconciler" / "sandbox.json").write_bytes(content)
    assert running_sandbox_url(db_of(repo)) is None


def test_a_file_for_another_database_is_ignored(repo: Path, listener: Listener) -> None:
    announce(repo, listener.url, db=str(repo / "other.db"))
    assert running_sandbox_url(db_of(repo)) is None


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
