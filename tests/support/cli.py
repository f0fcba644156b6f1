"""Helpers of the hardening suite (issue 10), shared by ``tests/reliability`` and ``tests/security``.

Imported as ``tests.reliability.kit``. Manifests are written as JSON-flavoured YAML (every
string quoted), so a test's data can never be misread the way the hostile inputs are meant to be.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from reconciler import session
from reconciler.api.settings import ClientSettings
from reconciler.cli import main
from reconciler.sandbox import RequestRecord, Store
from reconciler.sandbox.seed import EMAIL, PUSH, SMS

__all__ = ["EMAIL", "PUSH", "SMS", "cli", "fast_retries", "repo"]

Run = Callable[..., tuple[int, str, str]]

USERNAME, PASSWORD = "demo", "demo-password"
SENDER = "loyalty@northwind.example"
# Client settings that keep retry waits short, for tests about outcomes rather than timing.
FAST_RETRIES = {"backoff_base": 0.01, "backoff_cap": 0.05}


def communication(
    kind: str,
    channel_id: int,
    message: str,
    *,
    sender: str = SENDER,
    subject: str = "",
    offset: int = 0,
    active: bool = True,
) -> dict[str, object]:
    return {
        "communicationType": kind,
        "channelId": channel_id,
        "sender": sender,
        "subjectTemplate": subject,
        "messageTemplate": message,
        "offsetDays": offset,
        "active": active,
    }


_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def yaml_scalar(value: object) -> str:
    """A JSON scalar as YAML 1.2 reads it back: YAML's ``\\u`` has no surrogate pairs, so
    characters beyond U+FFFF are written as ``\\UXXXXXXXX``."""

    def astral(match: re.Match[str]) -> str:
        high, low = int(match[1], 16) - 0xD800, int(match[2], 16) - 0xDC00
        return f"\\U{0x10000 + (high << 10) + low:08x}"

    return _SURROGATE_PAIR.sub(astral, json.dumps(value))


def manifest(
    name: str,
    group: int,
    target: int,
    communications: Sequence[Mapping[str, object]],
    *,
    prune: bool = True,
) -> str:
    """One manifest document; every scalar is written in JSON form (strings double-quoted)."""
    lines = [
        "apiVersion: reconciler/v1",
        "kind: TargetCommunications",
        f"metadata: {{name: {yaml_scalar(name)}}}",
        f"target: {{targetGroup: {group}, target: {target}}}",
        f"prune: {json.dumps(prune)}",
        "communications:" + ("" if communications else " []"),
    ]
    for entry in communications:
        body = ", ".join(f"{key}: {yaml_scalar(value)}" for key, value in entry.items())
        lines.append(f"  - {{{body}}}")
    return "\n".join(lines) + "\n"


def write_config(repo: Path, url: str, *, auth: str = "basic", **extra: object) -> None:
    """reconciler.yaml whose default environment ``test`` is ``url``."""
    lines = [
        "defaultEnvironment: test",
        "environments:",
        "  test:",
        f"    endpoint: {url}",
        f"    auth: {auth}",
        f"    vars: {{sender: {SENDER}}}",
        "    rateLimit: 600000  # the test server has no limit; keep the client from pacing",
    ]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    (repo / "reconciler.yaml").write_text("\n".join(lines) + "\n")


def synthetic_manifests(
    directory: Path, targets: Mapping[int, Sequence[int]], *, version: str = "v2"
) -> dict[tuple[int, int], list[dict[str, object]]]:
    """One manifest file per group for ``seed_synthetic`` targets; each target needs one update
    (START/EMAIL gets a new message) and one create (CHANGE/SMS). Returns the desired entries."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted: dict[tuple[int, int], list[dict[str, object]]] = {}
    for group, ids in targets.items():
        documents = []
        for target in ids:
            entries = [
                communication(
                    "START",
                    EMAIL,
                    f"Hi {{{{first_name}}}}, {version} for {target}.",
                    subject=f"Start for target {target}",
                ),
                communication("CHANGE", SMS, f"Halfway to {target}.", sender="NWREWARDS"),
            ]
            wanted[(group, target)] = entries
            documents.append(manifest(f"t-{target}", group, target, entries, prune=False))
        (directory / f"group-{group}.yaml").write_text("---\n".join(documents))
    return wanted


def comms_path(group: int, target: int) -> str:
    return f"/v3/targetGroups/{group}/targets/{target}/communications"


def writes(log: Iterable[RequestRecord]) -> list[RequestRecord]:
    return [r for r in log if r.is_write]


def reads_of_communications(log: Iterable[RequestRecord]) -> list[RequestRecord]:
    return [r for r in log if r.method == "GET" and r.path.endswith("/communications")]


def active_key_counts(store: Store, group: int, target: int) -> Counter[tuple[str, int]]:
    live = store.communications(group, target)
    return Counter((c["communicationType"], c["channelId"]) for c in live if c["active"])


def assert_no_duplicates(store: Store, refs: Iterable[tuple[int, int]]) -> None:
    """No two active communications share a key in any of ``refs`` (SPEC §6)."""
    for group, target in refs:
        counts = active_key_counts(store, group, target)
        doubled = {key: n for key, n in counts.items() if n > 1}
        assert not doubled, f"duplicates in {group}/{target}: {doubled}"


def assert_live_matches(
    store: Store, wanted: Mapping[tuple[int, int], Sequence[Mapping[str, object]]]
) -> None:
    """Every declared active communication is live, once, with exactly the declared fields."""
    for (group, target), entries in wanted.items():
        live = [c for c in store.communications(group, target) if c["active"]]
        for entry in entries:
            if not entry.get("active", True):
                continue
            key = (entry["communicationType"], entry["channelId"])
            matches = [c for c in live if (c["communicationType"], c["channelId"]) == key]
            assert len(matches) == 1, f"{group}/{target} {key}: {len(matches)} active"
            for name, value in entry.items():
                assert matches[0][name] == value, f"{group}/{target} {key} {name}"  # type: ignore[literal-required]


def key_counts(
    store: Store, refs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Counter[tuple[str, int]]]:
    return {ref: active_key_counts(store, *ref) for ref in refs}


def assert_no_new_duplicates(
    store: Store, before: Mapping[tuple[int, int], Counter[tuple[str, int]]]
) -> None:
    """No key has more active communications than before, or than one (seeded UI duplicates
    with ``prune: false`` are kept on purpose)."""
    for ref, counts in before.items():
        for key, n in active_key_counts(store, *ref).items():
            assert n <= max(1, counts[key]), f"new duplicate in {ref}: {key} x{n}"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, step: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: this one (already cleaned by the guards) plus creds."""
    env = dict(os.environ)
    env.update({"CAPILLARY_USERNAME": USERNAME, "CAPILLARY_PASSWORD": PASSWORD})
    env.update(extra)
    return env


def spawn_cli(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """``reconciler ARGV`` as a real process with stdout and stderr as pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *argv],
        cwd=cwd,
        env=dict(env) if env is not None else cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- fixtures (the conftests of tests/reliability and tests/security import these) -----------


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the CLI in-process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository (the working directory) with Basic demo credentials set."""
    path = tmp_path / "repo"
    (path / "manifests").mkdir(parents=True)
    monkeypatch.chdir(path)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    return path


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's client retries as configured, but waits milliseconds between attempts."""
    monkeypatch.setattr(
        session, "ClientSettings", functools.partial(ClientSettings, **FAST_RETRIES)
    )


# --- a real HTTP proxy in front of the sandbox, for answers the sandbox does not give --------


@dataclass
class Seen:
    """One request as the proxy received it; ``at`` is ``time.monotonic()``."""

    method: str
    path: str
    headers: dict[str, str]
    at: float
    body: bytes = b""


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Rule = Callable[[Seen, int], "Answer | None"]  # (request, its number on that path) -> answer


class Proxy:
    """A loopback HTTP/1.1 server that answers from ``rule`` or forwards to ``upstream``.

    ``rule(seen, n)`` gets each request and how many requests that path has had (1-based); it
    returns an ``Answer`` to send instead, or ``None`` to forward the request unchanged.
    """

    def __init__(self, upstream: str, rule: Rule, host: str = "127.0.0.1") -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._upstream = httpx.Client(base_url=upstream, timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = dict(self.headers.items())
                seen = Seen(self.command, self.path, headers, time.monotonic(), body)
                with proxy._lock:
                    proxy.seen.append(seen)
                    n = sum(1 for s in proxy.seen if s.path == seen.path)
                answer = rule(seen, n) or proxy._forward(seen, body)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                # A client that hung up before a slow answer (its run had already failed):
                # printing the traceback would land in whichever test captures stderr next.
                pass

        self._server = Server((host, 0), Handler)
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _forward(self, seen: Seen, body: bytes) -> Answer:
        headers = {
            k: v for k, v in seen.headers.items() if k.lower() not in ("host", "content-length")
        }
        reply = self._upstream.request(seen.method, seen.path, headers=headers, content=body)
        keep = ("content-type", "retry-after", "date", "location")
        return Answer(
            reply.status_code, reply.content, {k: v for k, v in reply.headers.items() if k in keep}
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
