"""Issue 14 item 6: SIGTERM while a run is reading ends it within 5 s, exit 1, one line.

A real ``reconciler`` process reads from a loopback server that is stuck in one of the ways a
read can wait: an answer trickled one byte at a time, a long ``Retry-After`` backoff, or the
client's own rate limiter. Its read timeout is a minute, so only the signal can end it in time.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from reconciler.sandbox.seed import EMAIL
from tests.support.cli import SENDER, spawn_cli, wait_for
from tests.support.manifests import communication, manifest
from tests.support.raw_servers import RawServer, answer, envelope_bytes, trickle_body
from tests.support.servers import Seen

GROUP, TARGET = 1, 2
DIRECTORY = {
    "/v3/targetGroups": [
        {"id": GROUP, "name": "Group", "targets": [{"id": TARGET, "name": "Target"}]}
    ],
    f"/v3/targetGroups/{GROUP}": {"id": GROUP, "name": "Group"},
    f"/v3/targetGroups/{GROUP}/targets": [{"id": TARGET, "name": "Target", "targetGroupId": GROUP}],
    "/v3/targetGroups/channels": [{"id": 1, "name": "SMS"}, {"id": 2, "name": "EMAIL"}],
}
COMMANDS = {
    "plan": ["plan"],
    "drift": ["drift"],
    "apply": ["apply", "--auto-approve"],
    "export": ["export", "--all", "--out-dir", "exported"],
}


def make_repo(tmp_path: Path, url: str, *, rate_limit: int = 600000) -> Path:
    repo = tmp_path / "repo"
    (repo / "manifests").mkdir(parents=True)
    entry = communication("START", EMAIL, "Hello {{first_name}}")
    (repo / "manifests" / "one.yaml").write_text(manifest("one", GROUP, TARGET, [entry]))
    (repo / "reconciler.yaml").write_text(
        "defaultEnvironment: test\n"
        "environments:\n"
        "  test:\n"
        f"    endpoint: {url}\n"
        "    auth: basic\n"
        f"    vars: {{sender: {SENDER}}}\n"
        f"    rateLimit: {rate_limit}\n"
        "    readTimeout: 60\n"
    )
    return repo


def stuck_server(mode: str) -> RawServer:
    """Answers the directory; the communications read is stuck as ``mode`` says."""
    server = RawServer(lambda conn, request: None)
    stuck = trickle_body(server)

    def respond(conn: socket.socket, request: Seen) -> None:
        path = request.path
        if path in DIRECTORY:
            answer(conn, envelope_bytes(DIRECTORY[path]))
        elif mode == "trickle":
            stuck(conn, request)
        elif mode == "backoff":
            body = json.dumps({"data": None, "errors": [{"code": 503, "message": "busy"}]})
            answer(conn, body.encode(), status="503 Busy", headers={"Retry-After": "50"})
        else:
            answer(conn, envelope_bytes([]))

    server.respond = respond
    return server


def signal_and_wait(process: object, sig: signal.Signals = signal.SIGTERM) -> tuple[float, str]:
    import subprocess

    assert isinstance(process, subprocess.Popen)
    signalled = time.monotonic()
    process.send_signal(sig)
    try:
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return time.monotonic() - signalled, err


def assert_one_line_interrupted(code: int, err: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert "interrupted" in errors[0]
    assert "SIGTERM" in errors[0]


def communications_requested(server: RawServer) -> bool:
    return any(p.endswith("/communications") for p in server.paths())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sigterm_during_a_trickling_read_ends_the_run_within_5_s(
    tmp_path: Path, command: str
) -> None:
    with stuck_server("trickle") as server:
        repo = make_repo(tmp_path, server.url)
        process = spawn_cli(COMMANDS[command], repo)
        try:
            wait_for(lambda: communications_requested(server), timeout=60)
            time.sleep(0.6)  # a few bytes have trickled in: the read is under way
        except BaseException:
            process.kill()
            raise
        elapsed, err = signal_and_wait(process)
        methods = [r.method for r in server.requests]
    assert elapsed < 5.0
    assert_one_line_interrupted(process.returncode, err)
    assert "POST" not in methods
    assert not (repo / "exported").exists()


def test_sigterm_while_waiting_out_a_retry_after_ends_the_run_within_5_s(tmp_path: Path) -> None:
    with stuck_server("backoff") as server:
        repo = make_repo(tmp_path, server.url)
        process = spawn_cli(["plan"], repo)
        try:
            wait_for(lambda: communications_requested(server), timeout=60)
            time.sleep(0.5)  # now sleeping 50 s before the next attempt
        except BaseException:
            process.kill()
            raise
        elapsed, err = signal_and_wait(process)
    assert elapsed < 5.0
    assert_one_line_interrupted(process.returncode, err)


def test_sigterm_while_waiting_for_the_rate_limiter_ends_the_run_within_5_s(
    tmp_path: Path,
) -> None:
    with stuck_server("answer") as server:
        repo = make_repo(tmp_path, server.url, rate_limit=1)  # one request a minute
        process = spawn_cli(["drift"], repo)
        try:
            wait_for(lambda: len(server.requests) >= 1, timeout=60)
            time.sleep(0.5)  # the next request waits for the limiter
        except BaseException:
            process.kill()
            raise
        elapsed, err = signal_and_wait(process)
        assert len(server.requests) == 1
    assert elapsed < 5.0
    assert_one_line_interrupted(process.returncode, err)


def test_ctrl_c_during_a_trickling_read_still_ends_the_run(tmp_path: Path) -> None:
    with stuck_server("trickle") as server:
        repo = make_repo(tmp_path, server.url)
        process = spawn_cli(["plan"], repo)
        try:
            wait_for(lambda: communications_requested(server), timeout=60)
        except BaseException:
            process.kill()
            raise
        elapsed, err = signal_and_wait(process, signal.SIGINT)
    assert elapsed < 5.0
    assert process.returncode == 130  # as shells report a Ctrl-C
    assert "Traceback" not in err
    assert err.splitlines() == [
        "error: interrupted by Ctrl-C before the run completed; nothing was written"
    ]


def test_the_watchdog_ends_a_run_that_does_not_unwind_and_a_second_sigterm_ends_it_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from reconciler import interrupts

    monkeypatch.setattr(interrupts, "GRACE_SECONDS", 0.2)
    hung = threading.Event()
    watch = interrupts.Watch(None, lambda name: hung.set())
    watch.handle()
    assert watch.signalled == "SIGTERM"
    assert hung.wait(5)  # nothing stopped it: the watchdog fired

    calls: list[str] = []
    watch = interrupts.Watch(None, calls.append)
    monkeypatch.setattr(interrupts, "GRACE_SECONDS", 60.0)
    watch.handle()
    watch.handle()
    assert calls == ["SIGTERM"]  # the second signal, without waiting for the grace period
    watch.stop()
