"""Issue 10 case 5: credentials that stop working, and an API that is down, end the run early.

- An OAuth token that expires mid-run (the server forgets it) is renewed once and the run goes on.
- A second 401 in a row stops the whole run with a clear error; so does any 403, without a retry.
- A persistent 503 gives up after the attempt limit, saying "gave up after 5 attempts".
- A full outage across 50 targets costs far fewer than 50 x 5 requests (the run-wide breaker).
``tests/api`` pins each rule on the client; these pin them through the CLI over real HTTP.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest

from reconciler.sandbox import Fault
from reconciler.sandbox.faults import TOKEN_PATH
from reconciler.sandbox.seed import seed_synthetic
from tests.conftest import SandboxFactory
from tests.support.cli import Run, wait_for, write_config
from tests.support.manifests import synthetic_manifests
from tests.support.sandbox import comms, reads_of_communications, writes

ROOT = Path(__file__).resolve().parents[2]
# The demo targets that `apply` changes, in the order a run with --parallelism 1 writes them.
# 2402 (prune: false) has a live duplicate of a declared key, deactivated since issue 14 item 7.
CHANGED = [(2163, 2317), (2163, 2318), (2163, 2319), (2170, 2401), (2170, 2402)]


@pytest.fixture
def demo_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", "demo-key")
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", "demo-secret")
    return repo


def upsert(ref: tuple[int, int]) -> str:
    return comms(*ref) + "/upsert"


def test_a_token_that_expires_mid_run_is_renewed_once_and_the_run_completes(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    server = sandbox_factory(latency_ms=100)
    write_config(demo_repo, server.url, auth="oauth")
    store = server.store
    expired = threading.Event()

    def expire_after_the_first_write() -> None:
        wait_for(lambda: bool(writes(store.request_log())))
        store.expire_tokens()
        expired.set()

    watcher = threading.Thread(target=expire_after_the_first_write, daemon=True)
    watcher.start()
    code, _, err = cli("apply", "--auto-approve", "--parallelism", "1")
    watcher.join(5)

    assert expired.is_set()
    assert code == 0, err
    log = store.request_log()
    assert [r.status for r in log if r.path == TOKEN_PATH] == [200, 200]  # renewed once
    # The first request after the expiry: the canary's re-read of the first target written.
    assert [r.path for r in log if r.status == 401] == [comms(*CHANGED[0])]
    assert {r.path for r in writes(log) if r.committed} == {upsert(ref) for ref in CHANGED}
    assert cli("plan", "--detailed-exitcode")[0] == 0


def test_a_second_401_stops_the_run_with_a_clear_error(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    server = sandbox_factory(path_faults={upsert(CHANGED[1]): Fault.UNAUTHORIZED})
    write_config(demo_repo, server.url, auth="oauth")

    code, out, err = cli("apply", "--auto-approve", "--parallelism", "1")

    assert code == 1
    assert "(authentication failed: check the credentials in CAPILLARY_* variables)" in err
    assert "Traceback" not in err
    log = server.store.request_log()
    assert [r.status for r in log if r.path == upsert(CHANGED[1])] == [401, 401]
    assert [r.status for r in log if r.path == TOKEN_PATH] == [200, 200]  # one renewal only
    assert [r.path for r in writes(log) if r.committed] == [upsert(CHANGED[0])]
    assert "3 not started" in out  # the targets after it were never sent


def test_a_403_stops_the_whole_run_without_a_retry(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    server = sandbox_factory(path_faults={upsert(CHANGED[1]): Fault.FORBIDDEN})
    write_config(demo_repo, server.url)

    code, out, err = cli("apply", "--auto-approve", "--parallelism", "1")

    assert code == 1
    assert "(access denied: the API client lacks a grant on Target Loyalty)" in err
    log = server.store.request_log()
    assert [r.status for r in log if r.path == upsert(CHANGED[1])] == [403]
    assert [r.path for r in writes(log) if r.committed] == [upsert(CHANGED[0])]
    assert "3 not started" in out


@pytest.mark.usefixtures("fast_retries")
def test_a_persistent_503_gives_up_after_5_attempts(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    server = sandbox_factory(fail_rate=1.0, fail_kind="503")
    write_config(demo_repo, server.url)

    code, _, err = cli("plan")

    assert code == 1
    assert "gave up after 5 attempts: HTTP 503 with an HTML page" in err
    assert "Traceback" not in err
    log = server.store.request_log()
    assert {r.path for r in log} == {"/v3/targetGroups", "/v3/targetGroups/channels"}
    assert all(r.status == 503 for r in log)
    per_path = Counter(r.path for r in log)
    assert max(per_path.values()) == 5  # the read that gave up; the other was cut short
    assert all(n <= 5 for n in per_path.values())


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_full_outage_across_50_targets_stops_early(
    repo: Path, sandbox_db: Path, sandbox_factory: SandboxFactory, cli: Run, command: str
) -> None:
    programme = seed_synthetic(sandbox_db, groups=5, targets_per_group=10)
    synthetic_manifests(repo / "manifests", programme.targets)
    # The names resolve; then every read of communications fails.
    directory = {"/v3/targetGroups", "/v3/targetGroups/channels"} | {
        f"/v3/targetGroups/{group}/targets" for group in programme.groups
    }
    server = sandbox_factory(fail_rate=1.0, fail_kind="503", exempt_paths=frozenset(directory))
    write_config(repo, server.url)

    code, _, err = cli(command, *(["--auto-approve"] if command == "apply" else []))

    assert code == 1
    assert err.count("could not be read") == 50
    assert "circuit open" in err
    log = server.store.request_log()
    assert writes(log) == []
    attempts = len(reads_of_communications(log))
    assert attempts <= 2 * 16  # the breaker opens after max(10, 2 x parallelism) failures
    assert attempts < 50  # not even one attempt per target, let alone 50 x 5


def test_a_403_on_the_first_write_stops_the_run_after_that_request_at_any_parallelism(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20 item 9: read-only credentials read fine and get 403 on every write. With the
    default parallelism, the other targets' writes must not already be on the wire."""
    server = sandbox_factory(latency_ms=50)
    # A stated contract: no canary target is written alone first, so writes go in parallel.
    write_config(demo_repo, server.url, contract="{upsert: merge}")
    monkeypatch.setenv("CAPILLARY_USERNAME", "demo-readonly")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "demo-readonly-password")

    code, out, err = cli("apply", "--auto-approve")

    assert code == 1
    sent = writes(server.store.request_log())
    assert [r.status for r in sent] == [403]  # that request, and no other target's
    assert "access denied" in err
    summary = out.strip().splitlines()[-1]
    assert "1 failed, 4 not started" in summary
    assert "the run stopped at HTTP 403 (access denied)" in summary
