"""``rollback`` against reports it must not trust blindly (issue 19), over HTTP to the sandbox:
a report of another endpoint, tampered reports, a second rollback of one report."""

from __future__ import annotations

from pathlib import Path

from reconciler.sandbox import reset
from tests.conftest import SandboxFactory
from tests.support.cli import Run, write_config
from tests.support.sandbox import writes


def test_rollback_refuses_a_report_made_on_another_endpoint(
    workspace: Path, cli: Run, sandbox: object, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    # Two orgs in one state (same ids), under one environment name: the report of the first
    # may not restore the second.
    reset(tmp_path / "other.db")
    other = sandbox_factory(db_path=tmp_path / "other.db")
    assert cli("apply", "--auto-approve", "--report", "report.json")[0] == 0
    write_config(workspace, other.url)
    assert cli("apply", "--auto-approve")[0] == 0
    other.store.clear_request_log()
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve", "--force")
    assert code == 1, (out, err)
    assert "endpoint" in err
    assert other.url in err
    assert writes(other.store.request_log()) == []
    # On its own endpoint it restores.
    write_config(workspace, sandbox.url)  # type: ignore[attr-defined]
    assert cli("rollback", "--report", "report.json", "--auto-approve", "--force")[0] == 0
