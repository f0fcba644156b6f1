"""``rollback`` against reports it must not trust blindly (issue 19), over HTTP to the sandbox:
a report of another endpoint, tampered reports, a second rollback of one report."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    # On its own endpoint it restores, however the configuration spells it.
    write_config(workspace, sandbox.url + "/")  # type: ignore[attr-defined]
    assert cli("rollback", "--report", "report.json", "--auto-approve", "--force")[0] == 0


def test_a_rollback_cut_short_is_finished_by_running_it_again_without_force(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    config = workspace / "reconciler.yaml"  # the restoration deactivates what apply created
    config.write_text(config.read_text() + "    maxDeactivatePercent: 100\n")
    assert cli("apply", "--auto-approve", "--report", "report.json")[0] == 0
    # The first run restores one group only (as an interrupted run would have done).
    code, out, err = cli(
        "rollback", "--report", "report.json", "--target-group", "2163", "--auto-approve"
    )
    assert code == 0, (out, err)
    store = sandbox.store  # type: ignore[attr-defined]
    restored = {ref: store.communications(*ref) for ref in [(2163, 2317), (2163, 2318)]}
    store.clear_request_log()
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve")
    assert code == 0, (out, err)
    assert {ref: store.communications(*ref) for ref in restored} == restored  # not written again
    assert {int(r.path.split("/")[3]) for r in writes(store.request_log())} == {2170}
    # A third run finds everything restored: nothing to write.
    store.clear_request_log()
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve")
    assert code == 0, (out, err)
    assert writes(store.request_log()) == []


def _tampered(workspace: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = workspace / "report.json"
    report = json.loads(path.read_text())
    change(report)
    path.write_text(json.dumps(report))


def test_rollback_refuses_a_report_listing_one_target_twice(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("apply", "--auto-approve", "--report", "report.json")[0] == 0

    def twice(report: dict[str, Any]) -> None:
        copy = json.loads(json.dumps(report["targets"][0]))
        for row in copy["preImage"]:
            row["messageTemplate"] = "written by whoever edited the report"
        report["targets"].append(copy)

    _tampered(workspace, twice)
    store = sandbox.store  # type: ignore[attr-defined]
    store.clear_request_log()
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve", "--force")
    assert code == 1, (out, err)
    assert (
        err == "error: the report holds target spring-sprint-spend-500 (2163/2317) more than once\n"
    )
    assert writes(store.request_log()) == []


def test_rollback_refuses_pre_image_rows_of_another_target(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("apply", "--auto-approve", "--report", "report.json")[0] == 0

    def moved(report: dict[str, Any]) -> None:
        first, second = report["targets"][:2]
        first["preImage"].append(second["preImage"][0])  # a row of another target

    _tampered(workspace, moved)
    store = sandbox.store  # type: ignore[attr-defined]
    store.clear_request_log()
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve", "--force")
    assert code == 1, (out, err)
    assert "not of that target" in err
    assert writes(store.request_log()) == []


def test_rollback_out_into_the_manifests_refuses_to_declare_a_target_twice(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("apply", "--auto-approve", "--report", "report.json")[0] == 0
    before = {p: p.read_bytes() for p in (workspace / "manifests").rglob("*") if p.is_file()}
    code, out, err = cli("rollback", "--report", "report.json", "--out", "manifests")
    assert code == 1, (out, err)
    assert "already declared" in err
    assert {
        p: p.read_bytes() for p in (workspace / "manifests").rglob("*") if p.is_file()
    } == before
    assert cli("validate")[0] == 0


def test_a_row_deleted_on_the_server_is_refused_then_created_again_under_force(
    workspace: Path, cli: Run, sandbox: object, sandbox_db: Path
) -> None:
    assert cli("apply", "--auto-approve", "--report", "report.json")[0] == 0
    report = json.loads((workspace / "report.json").read_text())
    (target,) = [t for t in report["targets"] if t["targetId"] == 2318]
    gone = next(r for r in target["preImage"] if r["active"])
    with sqlite3.connect(sandbox_db) as db:
        db.execute("DELETE FROM communications WHERE id = ?", (gone["id"],))
    store = sandbox.store  # type: ignore[attr-defined]
    store.clear_request_log()
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve")
    assert code == 1, (out, err)
    assert "spring-sprint-store-visits (2163/2318) (live state changed after that apply)" in err
    assert writes(store.request_log()) == []
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve", "--force")
    assert code == 0, (out, err)
    assert f"id {gone['id']} " in out + err
    assert "is gone; restored as a new row" in out + err
    restored = [
        r
        for r in store.communications(2163, 2318)
        if r["active"] and r["communicationType"] == gone["communicationType"]
    ]
    assert [r["messageTemplate"] for r in restored] == [gone["messageTemplate"]]
