"""Issue 10 case 4 (SPEC §6): no retry ever creates a duplicate communication.

Over real HTTP against the sandbox, through ``reconciler apply``:
- an upsert that is committed and then answered with a read timeout, a 500 or a dropped
  connection is resolved by re-reading the target, never by resending the inserts;
- an upsert refused before it was committed (429, or no connection at all) is sent again, once;
- read-after-write lag of up to 2 s does not make the re-read look like "not written yet".
``tests/api/test_calls.py`` pins the client's side (ambiguous writes are never resent).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import httpx
import pytest

from reconciler import session
from reconciler.api.endpoints import CapillaryClient
from reconciler.sandbox import Fault
from reconciler.sandbox.seed import EMAIL
from tests.conftest import SandboxFactory
from tests.support.cli import Run, write_config
from tests.support.manifests import communication, manifest
from tests.support.sandbox import (
    assert_live_matches,
    assert_no_duplicates,
    assert_no_new_duplicates,
    comms,
    key_counts,
    writes,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO_TARGETS = [(2163, 2317), (2163, 2318), (2163, 2319), (2170, 2401), (2170, 2402)]
# 2163/2319 has no live communication: its write is two inserts and nothing else.
INSERTS_ONLY = {
    (2163, 2319): [
        communication("START", EMAIL, "Hi {{first_name}}", subject="In"),
        communication("FINISH", EMAIL, "Done, {{first_name}}", subject="Out"),
    ]
}


@pytest.fixture
def demo_repo(repo: Path) -> Path:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    return repo


def inserts_only_repo(repo: Path) -> None:
    (repo / "manifests" / "t.yaml").write_text(
        manifest("inserts", 2163, 2319, INSERTS_ONLY[(2163, 2319)])
    )


def committed_writes_per_target(log: list[object]) -> Counter[str]:
    return Counter(r.path for r in writes(log) if r.committed)  # type: ignore[arg-type,attr-defined]


@pytest.mark.parametrize(
    "fault",
    [Fault.AMBIGUOUS_STALL, Fault.AMBIGUOUS_500, Fault.AMBIGUOUS_DROP],
    ids=["committed-then-timeout", "committed-then-500", "committed-then-dropped"],
)
def test_a_committed_write_with_a_lost_answer_is_resolved_by_rereading_without_duplicates(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run, fault: Fault
) -> None:
    server = sandbox_factory(write_script={1: fault})
    write_config(demo_repo, server.url, readTimeout=0.5)
    before = key_counts(server.store, DEMO_TARGETS)

    code, out, err = cli("apply", "--auto-approve")

    assert code == 0, err
    assert "recovered after ambiguous write" in out
    log = server.store.request_log()
    ambiguous = [r for r in writes(log) if r.fault == fault.value]
    assert len(ambiguous) == 1
    assert ambiguous[0].committed
    # Every changed target was written exactly once: the lost answer was never resent.
    assert set(committed_writes_per_target(log).values()) == {1}
    recovery_reads = [r for r in log if r.method == "GET" and r.path == ambiguous[0].path[:-7]]
    assert len(recovery_reads) == 2  # the plan's read and the re-read that resolved it
    assert_no_new_duplicates(server.store, before)
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 0
    assert out.endswith("No changes. Live state matches the manifests.\n")


def test_an_insert_refused_with_429_is_sent_again_once(
    repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    inserts_only_repo(repo)
    server = sandbox_factory(write_script={1: Fault.THROTTLE})
    write_config(repo, server.url)

    code, out, err = cli("apply", "--auto-approve")

    assert code == 0, err
    assert "recovered" not in out  # a plain retry: the refusal proved nothing was written
    sent = writes(server.store.request_log())
    assert [(r.status, r.committed) for r in sent] == [(429, False), (200, True)]
    assert sent[1].at - sent[0].at >= 1.0  # Retry-After: 1 was honoured
    assert_live_matches(server.store, INSERTS_ONLY)
    assert_no_duplicates(server.store, INSERTS_ONLY)


class RefuseFirstWrite(httpx.AsyncBaseTransport):
    """Real HTTP, except that the first upsert finds no connection (nothing reaches the API)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/upsert") and not self.refused:
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_an_insert_that_could_not_connect_is_sent_again_once(
    repo: Path, sandbox_factory: SandboxFactory, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    inserts_only_repo(repo)
    server = sandbox_factory()
    write_config(repo, server.url)
    transport = RefuseFirstWrite()
    monkeypatch.setattr(
        session, "CapillaryClient", lambda s, **_: CapillaryClient(s, transport=transport)
    )

    code, _, err = cli("apply", "--auto-approve")

    assert code == 0, err
    assert transport.refused == 1
    assert [(r.status, r.committed) for r in writes(server.store.request_log())] == [(200, True)]
    assert_live_matches(server.store, INSERTS_ONLY)
    assert_no_duplicates(server.store, INSERTS_ONLY)


def test_read_after_write_lag_of_2_s_does_not_duplicate_an_ambiguous_insert(
    repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    """The re-read after a lost answer does not show the inserts yet; they are not resent."""
    inserts_only_repo(repo)
    server = sandbox_factory(read_lag_ms=2000, write_script={1: Fault.AMBIGUOUS_500})
    write_config(repo, server.url)

    code, out, err = cli("apply", "--auto-approve")

    assert code == 0, err
    assert "recovered after ambiguous write" in out
    log = server.store.request_log()
    assert [(r.status, r.committed) for r in writes(log)] == [(500, True)]
    rereads = [r for r in log if r.method == "GET" and r.path == comms(2163, 2319)][1:]
    assert len(rereads) == 2  # one within the lag (shows nothing), one after it
    assert_live_matches(server.store, INSERTS_ONLY)
    assert_no_duplicates(server.store, INSERTS_ONLY)
