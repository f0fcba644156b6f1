"""Issue 10 case 3 (SPEC §4): a read that fails is never "nothing there".

Over real HTTP against the sandbox, one target's communications read fails (read timeout, 5xx
after retries, a CDN's HTML page, truncated JSON): that target gets no planned change at all,
the command exits 1 naming it, and every other target plans (and applies) exactly as it would
have. A 401 or 403 stops the whole run instead (README, "Assumptions about the API"): nothing is
planned or written for anyone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler.sandbox import Fault, SandboxServer
from tests.conftest import SandboxFactory
from tests.support.cli import Run, write_config
from tests.support.sandbox import comms, writes

ROOT = Path(__file__).resolve().parents[2]
BROKEN = (2163, 2318)
UPSERT = comms(*BROKEN) + "/upsert"


@pytest.fixture
def demo_repo(repo: Path) -> Path:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    return repo


def baseline(repo: Path, factory: SandboxFactory, cli: Run) -> dict[str, object]:
    """The plan of the same live state when every read works."""
    server = factory()
    write_config(repo, server.url)
    code, out, err = cli("plan", "--format", "json")
    assert code == 0, err
    server.store.clear_request_log()
    server.stop()
    return dict(json.loads(out))


def by_ref(plan: dict[str, object]) -> dict[tuple[int, int], dict[str, object]]:
    targets = plan["targets"]
    assert isinstance(targets, list)
    return {(t["targetGroupId"], t["targetId"]): t for t in targets}


def changes(target: dict[str, object]) -> list[object]:
    entries = target["changes"]
    assert isinstance(entries, list)
    return [c for c in entries if c["action"] != "noop"]


READ_FAULTS = {
    "read-timeout": Fault.STALL,
    "500-after-retries": Fault.FAIL_500,
    "503-html-after-retries": Fault.FAIL_503_HTML,
    "200-html-page": Fault.HTML_200,
    "truncated-json": Fault.TRUNCATE,
}
REASONS = {
    "read-timeout": "gave up after 5 attempts: timed out",
    "500-after-retries": "gave up after 5 attempts: HTTP 500",
    "503-html-after-retries": "gave up after 5 attempts: HTTP 503 with an HTML page",
    "200-html-page": "gave up after 5 attempts: HTTP 200 with an HTML page",
    "truncated-json": "gave up after 5 attempts: HTTP 200 with a body that is not JSON",
}


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize("case", list(READ_FAULTS))
def test_a_failed_read_plans_nothing_for_that_target_and_the_others_still_plan(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run, case: str
) -> None:
    expected = by_ref(baseline(demo_repo, sandbox_factory, cli))
    assert changes(expected[BROKEN])  # without the fault it would change something
    server = sandbox_factory(path_faults={comms(*BROKEN): READ_FAULTS[case]})
    write_config(demo_repo, server.url, readTimeout=0.3)

    code, out, err = cli("plan", "--format", "json", "--out", "plan.json")

    assert code == 1
    assert "Traceback" not in err
    assert "error: target 2163/2318 (spring-sprint-store-visits) could not be read: " in err
    assert REASONS[case] in err
    plan = by_ref(json.loads(out))
    assert plan[BROKEN]["readable"] is False
    assert plan[BROKEN]["changes"] == []
    for ref, target in expected.items():
        if ref != BROKEN:
            assert plan[ref]["changes"] == target["changes"], ref
    reads = [r for r in server.store.request_log() if r.path == comms(*BROKEN)]
    assert len(reads) == 5  # the attempt limit, then it gave up


@pytest.mark.usefixtures("fast_retries")
def test_apply_writes_the_readable_targets_and_nothing_to_the_unreadable_one(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    expected = by_ref(baseline(demo_repo, sandbox_factory, cli))
    changed = {ref for ref, target in expected.items() if changes(target) and ref != BROKEN}
    server = sandbox_factory(path_faults={comms(*BROKEN): Fault.FAIL_503_HTML})
    write_config(demo_repo, server.url)
    before = server.store.communications(*BROKEN)

    code, out, err = cli("apply", "--auto-approve")

    assert code == 1
    assert "could not be read" in err
    assert "1 unreadable." in out
    written = {r.path for r in writes(server.store.request_log())}
    assert UPSERT not in written
    assert written == {comms(*ref) + "/upsert" for ref in changed}
    assert server.store.communications(*BROKEN) == before


@pytest.mark.parametrize("fault", [Fault.UNAUTHORIZED, Fault.FORBIDDEN], ids=["401", "403"])
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_401_or_403_on_one_read_stops_the_run_and_writes_nothing(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run, fault: Fault, command: str
) -> None:
    server: SandboxServer = sandbox_factory(path_faults={comms(*BROKEN): fault})
    write_config(demo_repo, server.url)

    code, out, err = cli(command, *(["--auto-approve"] if command == "apply" else []))

    assert code == 1
    status = "401" if fault is Fault.UNAUTHORIZED else "403"
    assert f"error: GET {comms(*BROKEN)}: HTTP {status}" in err
    assert "Traceback" not in err
    assert "Plan:" not in out
    assert "No changes" not in out
    log = server.store.request_log()
    assert writes(log) == []
    assert [r.status for r in log if r.path == comms(*BROKEN)] == [int(status)]  # no retry
