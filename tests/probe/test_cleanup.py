"""The clean-up: a probe whose step fails deactivates what it made at once and says so; one whose
clean-up fails names every row it left active and keeps the journal for the next run."""

from __future__ import annotations

from pathlib import Path

from reconciler.sandbox import Fault
from tests.probe.conftest import Start
from tests.support.cli import Run
from tests.support.probe import SCRATCH_ARGS, active_probe_rows, contract_path, journal_file


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
    assert not contract_path(repo).exists()


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
