"""An interrupted probe leaves a journal and active rows; the next probe cleans them up first.
A probe whose step fails cleans up at once and says what it did."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from reconciler.sandbox import Fault
from tests.probe.conftest import (
    PASSWORD,
    SCRATCH_ARGS,
    USERNAME,
    Run,
    Start,
    active_probe_rows,
    journal_file,
)


def _journal(repo: Path) -> dict[str, object] | None:
    try:
        data = json.loads(journal_file(repo).read_text())
    except (OSError, ValueError):  # not there yet, or caught between write and rename
        return None
    assert isinstance(data, dict)
    return data


def test_a_killed_probe_leaves_its_journal_and_the_next_probe_cleans_up_first(
    start: Start, cli: Run, repo: Path
) -> None:
    server = start(latency_ms=80)  # slow enough to kill the probe between two steps
    env = {**os.environ, "CAPILLARY_USERNAME": USERNAME, "CAPILLARY_PASSWORD": PASSWORD}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *SCRATCH_ARGS],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            journal = _journal(repo)
            if journal is not None and journal["created"]:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the probe ended before it could be interrupted"
        process.send_signal(signal.SIGKILL)  # no clean-up can run: the journal must do
    finally:
        process.wait(timeout=30)
    journal = _journal(repo)
    assert journal is not None
    assert journal["created"]
    left = active_probe_rows(server)
    assert left
    assert {row["id"] for row in left} <= set(journal["created"])

    code, out, err = cli(*SCRATCH_ARGS)
    assert (code, err) == (0, "")
    ids = ", ".join(str(row["id"]) for row in left)
    assert f"Rows an earlier probe left (its journal): deactivated ids {ids}." in out
    assert active_probe_rows(server) == []
    assert not journal_file(repo).exists()


def test_a_journal_of_another_endpoint_stops_the_probe_before_it_writes(
    start: Start, cli: Run, repo: Path
) -> None:
    server = start()
    journal_file(repo).parent.mkdir(exist_ok=True)
    journal_file(repo).write_text(
        json.dumps(
            {
                "environment": "test",
                "endpoint": "https://eu.api.capillarytech.com",
                "targetGroupId": 2185,
                "targetId": 2502,
                "marker": "reconciler probe 0badc0de",
                "startedAt": "2026-01-01T00:00:00+00:00",
            }
        )
    )
    code, _, err = cli(*SCRATCH_ARGS)
    assert code == 1
    assert "is the journal of a probe against https://eu.api.capillarytech.com" in err
    assert not any(r.is_write for r in server.store.request_log())
    assert journal_file(repo).exists()


def test_a_failed_step_cleans_up_and_says_so(start: Start, cli: Run, repo: Path) -> None:
    """The third write is committed but answered 500: its outcome is unknown, so the probe
    stops there, deactivates the rows it made, and exits 1."""
    server = start(write_script={3: Fault.AMBIGUOUS_500})
    code, out, err = cli(*SCRATCH_ARGS)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "error: POST /v3/targetGroups/2185/targets/2502/communications/upsert"
    )
    assert "the write may or may not have been committed" in lines[0]
    assert lines[1].startswith("error: cleaned up: the probe's rows are inactive (deactivated: ")
    assert active_probe_rows(server) == []
    assert not journal_file(repo).exists()
    assert not (repo / ".reconciler" / "contract-test.json").exists()


def test_a_clean_up_that_fails_keeps_the_journal_and_names_it(
    start: Start, cli: Run, repo: Path
) -> None:
    """Every write from the third on fails before it is processed: the clean-up cannot
    deactivate rows A and B, so the error names them and the journal stays for the next run."""
    script = {n: Fault.FAIL_500 for n in range(3, 40)}
    server = start(write_script=script)
    code, _, err = cli(*SCRATCH_ARGS)
    assert code == 1
    left = active_probe_rows(server)
    assert len(left) == 2
    for row in left:
        assert f"could not clean up on target 2502 of target group 2185: id {row['id']}" in err
    assert f"the journal {journal_file(repo)} lists them" in err
    assert journal_file(repo).exists()
