"""Issue 10 case 7: SIGTERM (a cancelled CI job) or Ctrl-C during ``apply``.

A real ``reconciler apply --auto-approve --report r.json`` process against a slow sandbox is
signalled once its first writes have landed: requests in flight finish, no new one starts, the
report and the summary are written, and it exits non-zero. The next apply converges with no
duplicate.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from reconciler.sandbox import FaultConfig, SandboxServer
from reconciler.sandbox.seed import seed_synthetic
from tests.support.cli import Run, cli_env, spawn_cli, wait_for, write_config
from tests.support.manifests import synthetic_manifests
from tests.support.sandbox import assert_live_matches, assert_no_duplicates, writes

PARALLELISM = 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_during_apply_finishes_in_flight_writes_reports_and_the_next_apply_converges(
    repo: Path, sandbox_db: Path, cli: Run, sig: signal.Signals
) -> None:
    programme = seed_synthetic(sandbox_db, groups=2, targets_per_group=12)
    wanted = synthetic_manifests(repo / "manifests", programme.targets)
    summary = repo / "summary.md"
    with SandboxServer(sandbox_db, faults=FaultConfig(latency_ms=100)) as server:
        write_config(repo, server.url)
        process = spawn_cli(
            ["apply", "--auto-approve", "--report", "r.json", "--parallelism", str(PARALLELISM)],
            repo,
            cli_env(GITHUB_STEP_SUMMARY=str(summary)),
        )
        try:
            wait_for(lambda: bool(writes(server.store.request_log())), timeout=60)
            signalled_at = time.time()
            process.send_signal(sig)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        log = server.store.request_log()

    assert process.returncode == 1, err
    assert "Traceback" not in err
    assert "warning: interrupted: finishing requests in flight, starting no new ones" in err
    report = json.loads((repo / "r.json").read_text())
    assert report["interrupted"] is True
    outcomes = {(t["targetGroupId"], t["targetId"]): t["outcome"] for t in report["targets"]}
    applied = {ref for ref, outcome in outcomes.items() if outcome == "applied"}
    skipped = {ref for ref, outcome in outcomes.items() if outcome == "skipped"}
    assert applied
    assert skipped
    assert applied | skipped == set(wanted)  # nothing failed half-way
    # In-flight writes finished and were recorded; none started after the signal.
    sent = writes(log)
    assert all(r.status == 200 and r.committed for r in sent)
    assert {tuple(int(p) for p in r.path.split("/")[3:6:2]) for r in sent} == applied
    assert sum(1 for r in sent if r.at > signalled_at) <= PARALLELISM
    summary_line = next(line for line in out.splitlines() if line.startswith("Apply complete:"))
    assert f"{len(applied)} targets changed" in summary_line
    assert f"{len(skipped)} not started" in summary_line
    assert "### reconciler apply (interrupted)" in summary.read_text()

    with SandboxServer(sandbox_db) as server:
        server.store.clear_request_log()
        write_config(repo, server.url)
        code, _, err = cli("apply", "--auto-approve")
        assert code == 0, err
        again = writes(server.store.request_log())
        assert len(again) == len(skipped)  # only what had not started
        assert cli("plan", "--detailed-exitcode")[0] == 0
        assert_live_matches(server.store, wanted)
        assert_no_duplicates(server.store, wanted)


def test_a_sigterm_while_apply_is_still_reading_ends_it_before_any_write(
    repo: Path, sandbox_db: Path
) -> None:
    programme = seed_synthetic(sandbox_db, groups=1, targets_per_group=12)
    synthetic_manifests(repo / "manifests", programme.targets)
    with SandboxServer(sandbox_db, faults=FaultConfig(latency_ms=200)) as server:
        write_config(repo, server.url)
        process = spawn_cli(["apply", "--auto-approve", "--parallelism", "1"], repo)
        try:
            wait_for(lambda: len(server.store.request_log()) >= 4, timeout=60)
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        time.sleep(0.3)  # a request it had in flight would be logged by now
        log = server.store.request_log()
    assert process.returncode != 0
    assert "Traceback" not in err
    assert writes(log) == []
