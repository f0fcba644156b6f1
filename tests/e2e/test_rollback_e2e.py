"""Pre-images and ``rollback`` (issue 19) against a real sandbox over HTTP: apply records each
target's rows before writing; rollback restores them exactly, refuses targets changed since,
and ``--out`` writes manifests that plan back to them; ``history`` lists the runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cli import Run
from tests.support.sandbox import writes

FIELDS = (
    "id",
    "communicationType",
    "channelId",
    "sender",
    "subjectTemplate",
    "messageTemplate",
    "offsetDays",
    "active",
)


def _rows(sandbox: object, ref: tuple[int, int]) -> list[dict[str, Any]]:
    rows = sandbox.store.communications(*ref)  # type: ignore[attr-defined]
    return [{name: row[name] for name in FIELDS} for row in rows]


def _changed_refs(plan: dict[str, Any]) -> list[tuple[int, int]]:
    return [
        (t["targetGroupId"], t["targetId"])
        for t in plan["targets"]
        if any(c["action"] != "noop" for c in t["changes"])
    ]


def _writes_by_key(plan: dict[str, Any]) -> dict[tuple[int, int, str, int], tuple[str, Any]]:
    """Each planned write but the deactivation of a live duplicate: (action, what it writes)
    by target and key."""
    return {
        (t["targetGroupId"], t["targetId"], c["key"]["communicationType"], c["key"]["channelId"]): (
            c["action"],
            c["after"],
        )
        for t in plan["targets"]
        for c in t["changes"]
        if c["action"] != "noop" and c["reason"] != "live duplicate"
    }


def _duplicates(plan: dict[str, Any]) -> list[tuple[int, int, str, int]]:
    return sorted(
        (t["targetGroupId"], t["targetId"], c["key"]["communicationType"], c["key"]["channelId"])
        for t in plan["targets"]
        for c in t["changes"]
        if c["reason"] == "live duplicate"
    )


def test_rollback_restores_every_target_to_its_exact_pre_image(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    original = json.loads(cli("plan", "--format", "json")[1])
    refs = _changed_refs(original)
    assert len(refs) == 5
    before = {ref: _rows(sandbox, ref) for ref in refs}

    code, _, err = cli("apply", "--auto-approve", "--report", "report.json")
    assert code == 0, err
    report = json.loads((workspace / "report.json").read_text())
    recorded = {(t["targetGroupId"], t["targetId"]): t["preImage"] for t in report["targets"]}
    assert set(recorded) == set(refs)
    labels = {t["name"]: t["labels"] for t in report["targets"]}
    assert labels["spring-sprint-spend-500"]["team"] == "crm"  # for rollback --select
    for ref in refs:  # full rows as read: attribution and all
        assert [{n: r[n] for n in FIELDS} for r in recorded[ref]] == before[ref]
        assert all("attribution" in row for row in recorded[ref])
    created = {
        ref: {r["id"] for r in _rows(sandbox, ref)} - {r["id"] for r in before[ref]} for ref in refs
    }
    assert any(created.values())  # the demo's plan creates rows: rollback deactivates them

    # The restoration deactivates what apply created: above maxDeactivatePercent, apply's
    # threshold refuses it (exit 3, nothing written) until --force.
    store = sandbox.store  # type: ignore[attr-defined]
    store.clear_request_log()
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve")
    assert code == 3, (out, err)
    assert "refused by the safety threshold" in err
    assert writes(store.request_log()) == []
    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve", "--force")
    assert code == 0, (out, err)
    assert "Apply complete: 5 targets changed" in out
    for ref in refs:
        now = {row["id"]: row for row in _rows(sandbox, ref)}
        for row in before[ref]:
            assert now.pop(row["id"]) == row, ref  # field by field, id kept
        assert set(now) == created[ref]
        assert not any(row["active"] for row in now.values())

    again = json.loads(cli("plan", "--format", "json")[1])
    assert _changed_refs(again) == refs
    # The same writes, key by key. A create of the original plan is now the re-activation of
    # the row that apply created and rollback deactivated: the API has no delete. Of live
    # duplicates, one is deactivated again; which one is the match follows lastUpdatedOn,
    # which the API stamps on every write, so a rollback cannot give it back.
    assert _duplicates(again) == _duplicates(original)
    shared = set(_duplicates(original))  # the demo's one: 2402's START
    assert shared == {(2170, 2402, "START", 2)}
    first, second = _writes_by_key(original), _writes_by_key(again)
    for key in shared:
        first.pop(key, None)
        second.pop(key, None)
    assert first.keys() == second.keys()
    for key, (action, after) in first.items():
        assert second[key][1] == after, key
        assert second[key][0] == ("update" if action == "create" else action), key


def test_rollback_refuses_a_target_edited_since_and_force_restores_it(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    code, _, err = cli("apply", "--auto-approve", "--report", "report.json")
    assert code == 0, err
    store = sandbox.store  # type: ignore[attr-defined]
    edited = store.communications(2163, 2318)[0]
    store.edit_communication(edited["id"], message_template="edited in the UI after the apply")
    store.clear_request_log()

    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve")
    assert code == 1
    assert "rollback refused for spring-sprint-store-visits (2163/2318)" in err
    assert "live state changed after that apply" in err
    assert writes(store.request_log()) == []

    code, out, err = cli("rollback", "--report", "report.json", "--auto-approve", "--force")
    assert code == 0, (out, err)
    report = json.loads((workspace / "report.json").read_text())
    (target,) = [t for t in report["targets"] if t["targetId"] == 2318]
    restored = {row["id"]: row for row in _rows(sandbox, (2163, 2318))}
    for row in target["preImage"]:
        assert restored[row["id"]] == {name: row[name] for name in FIELDS}


def test_rollback_never_touches_a_target_the_report_does_not_hold(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("apply", "--auto-approve", "--report", "report.json")[0] == 0
    report = json.loads((workspace / "report.json").read_text())
    held = {(t["targetGroupId"], t["targetId"]) for t in report["targets"]}
    store = sandbox.store  # type: ignore[attr-defined]
    store.clear_request_log()
    code, _, err = cli(
        "rollback", "--report", "report.json", "--target-group", "2170", "--auto-approve", "--force"
    )
    assert code == 0, err
    touched = {
        (int(parts[3]), int(parts[5]))
        for record in store.request_log()
        if "/communications" in record.path
        for parts in [record.path.split("/")]
    }
    assert touched
    assert touched <= held
    assert {group for group, _ in touched} == {2170}


def test_rollback_out_writes_manifests_that_plan_back_to_the_pre_image(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("apply", "--auto-approve", "--report", "report.json")[0] == 0
    report = json.loads((workspace / "report.json").read_text())
    code, out, err = cli("rollback", "--report", "report.json", "--out", "restore")
    assert code == 0, err
    assert "wrote 5 manifests of the pre-image to restore" in out
    assert cli("validate", "restore")[0] == 0
    code, _, err = cli("apply", "restore", "--auto-approve", "--force")
    assert code == 0, err
    for target in report["targets"]:
        ref = (target["targetGroupId"], target["targetId"])
        wanted = {
            (r["communicationType"], r["channelId"]): {n: r[n] for n in FIELDS[3:]}
            for r in target["preImage"]
            if r["active"]
        }
        live = {
            (r["communicationType"], r["channelId"]): {n: r[n] for n in FIELDS[3:]}
            for r in _rows(sandbox, ref)
            if r["active"]
        }
        assert live == wanted, ref
    assert cli("plan", "restore", "--detailed-exitcode")[0] == 0


def test_apply_without_report_keeps_the_run_in_history(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("history")[1].startswith("No stored runs")
    code, _, err = cli("apply", "--auto-approve")
    assert code == 0, err
    (stored,) = (workspace / ".reconciler" / "history" / "test").glob("*.json")
    report = json.loads(stored.read_text())
    assert sum(1 for t in report["targets"] if "preImage" in t) == 5
    code, out, _ = cli("history", "--environment", "test")
    assert code == 0
    (line,) = out.splitlines()
    assert "  test  " in line
    assert "  ok  5 targets: spring-sprint-spend-500 (2163/2317)" in line
    assert str(stored.relative_to(workspace)) in line
    assert cli("history", "--environment", "prod")[1].startswith("No stored runs")
    # A second apply writes nothing, so it keeps no run; the history file rolls back.
    assert cli("apply", "--auto-approve")[0] == 0
    assert len(list(stored.parent.glob("*.json"))) == 1
    code, _, err = cli("rollback", "--report", str(stored), "--auto-approve", "--force")
    assert code == 0, err
    assert len(list(stored.parent.glob("*.json"))) == 2  # the rollback is a run too


def test_a_saved_restoration_plan_is_applied_by_apply_plan_under_its_staleness_rule(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    assert cli("plan", "--out", "plan.json")[0] == 0
    code, _, err = cli("apply", "--plan", "plan.json", "--auto-approve", "--report", "r.json")
    assert code == 0, err
    report = json.loads((workspace / "r.json").read_text())
    assert all("preImage" in t for t in report["targets"])  # a saved plan's apply too
    assert sum(len(t["preImage"]) for t in report["targets"]) > 5
    store = sandbox.store  # type: ignore[attr-defined]
    store.clear_request_log()
    code, out, err = cli("rollback", "--report", "r.json", "--plan-out", "rollback.json")
    assert code == 0, err
    assert "Plan: " in out
    assert "apply --plan rollback.json" in out
    assert writes(store.request_log()) == []
    row = store.communications(2163, 2317)[0]
    store.edit_communication(row["id"], sender="someone@else.example")
    code, _, err = cli("apply", "--plan", "rollback.json", "--auto-approve", "--force")
    assert code == 4
    assert "stale plan" in err
    assert "2163/2317" in err
    assert writes(store.request_log()) == []
