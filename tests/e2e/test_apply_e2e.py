"""`apply` against a real sandbox server over HTTP (SPEC §6; issue 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Run
from tests.support.sandbox import writes


def test_plan_apply_plan_converges_and_second_apply_writes_nothing(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, err
    assert "Apply complete:" in out
    assert cli("plan")[1].strip().endswith("No changes. Live state matches the manifests.")
    sandbox.store.clear_request_log()  # type: ignore[attr-defined]
    code, out, _ = cli("apply", "--auto-approve")
    assert code == 0
    assert writes(sandbox.store.request_log()) == []


def test_request_budget_of_apply(workspace: Path, cli: Run, sandbox: object) -> None:
    """T reads of communications and C writes for C changed targets out of T."""
    plan = json.loads(cli("plan", "--format", "json")[1])
    changed = [t for t in plan["targets"] if any(c["action"] != "noop" for c in t["changes"])]
    sandbox.store.clear_request_log()  # type: ignore[attr-defined]
    assert cli("apply", "--auto-approve")[0] == 0
    log = sandbox.store.request_log()  # type: ignore[attr-defined]
    reads = [r for r in log if r.method == "GET" and r.path.endswith("/communications")]
    assert len(reads) == len(plan["targets"]) == 5
    assert len(writes(sandbox.store.request_log())) == len(changed)


def test_stale_saved_plan_is_refused_with_exit_4(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("plan", "--out", "plan.json")[0] == 0
    store = sandbox.store  # type: ignore[attr-defined]
    live = store.communications(2163, 2317)
    store.edit_communication(live[0]["id"], message_template="edited in the UI meanwhile")
    store.clear_request_log()
    code, _, err = cli("apply", "--plan", "plan.json", "--auto-approve")
    assert code == 4
    assert "stale plan" in err
    assert "2163/2317" in err
    assert writes(sandbox.store.request_log()) == []


def test_fresh_saved_plan_applies_with_c_reads_and_c_writes(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("plan", "--out", "plan.json")[0] == 0
    plan = json.loads((workspace / "plan.json").read_text())
    changed = [t for t in plan["targets"] if any(c["action"] != "noop" for c in t["changes"])]
    sandbox.store.clear_request_log()  # type: ignore[attr-defined]
    code, _, err = cli("apply", "--plan", "plan.json", "--auto-approve")
    assert code == 0, err
    log = sandbox.store.request_log()  # type: ignore[attr-defined]
    reads = [r for r in log if r.method == "GET" and r.path.endswith("/communications")]
    assert len(reads) == len(changed)
    assert len(writes(sandbox.store.request_log())) == len(changed)
    assert cli("plan", "--detailed-exitcode")[0] == 0


def _empty_first_document(path: Path) -> None:
    first, *rest = path.read_text().split("---\n")
    body, _ = first.split("communications:\n")
    path.write_text("---\n".join([body + "communications: []\n", *rest]))


def test_safety_threshold_refuses_with_exit_3_and_force_applies(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("apply", "--auto-approve")[0] == 0
    _empty_first_document(workspace / "manifests" / "summer-streak.yaml")
    _empty_first_document(workspace / "manifests" / "spring-sprint.yaml")
    sandbox.store.clear_request_log()  # type: ignore[attr-defined]
    code, _, err = cli("apply", "--auto-approve")
    assert code == 3
    assert "safety threshold" in err
    assert "re-run with --force" in err
    assert writes(sandbox.store.request_log()) == []
    code, out, err = cli("apply", "--auto-approve", "--force")
    assert code == 0, err
    assert len(writes(sandbox.store.request_log())) == 2
    assert "8 deactivated" in out


def test_no_terminal_without_auto_approve_is_refused(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    sandbox.store.clear_request_log()  # type: ignore[attr-defined]
    code, _, err = cli("apply")
    assert code == 1
    assert "--auto-approve" in err
    assert writes(sandbox.store.request_log()) == []


def test_report_records_bodies_and_no_secret(
    workspace: Path, cli: Run, monkeypatch: pytest.MonkeyPatch, sandbox: object
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    code, out, err = cli("-v", "apply", "--auto-approve", "--report", "report.json")
    assert code == 0, err
    text = (workspace / "report.json").read_text()
    report = json.loads(text)
    assert report["github"] == {"sha": "abc123", "runId": "42"}
    assert report["environment"] == "test"
    outcomes = {(t["targetGroupId"], t["targetId"]): t for t in report["targets"]}
    assert outcomes
    for target in outcomes.values():
        assert target["outcome"] == "applied"
        assert target["requests"][0]["sent"]
        assert target["requests"][0]["response"]
    for secret in ("demo-password", "ZGVtbzo"):  # the password and base64 of "demo:"
        assert secret not in text + out + err
