"""An interrupted probe leaves a journal and active rows; the next probe cleans them up first,
and a journal written for another endpoint stops it before it writes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.probe.conftest import Start
from tests.support.cli import Run, cli_env
from tests.support.probe import SCRATCH_ARGS, active_probe_rows, journal_file


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
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *SCRATCH_ARGS],
        cwd=repo,
        env=cli_env(),
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
