"""``rollback`` on servers whose upsert is not the assumed one (issue 19, SPEC §9): each contract
mode over real HTTP against a sandbox speaking the matching dialect."""

from __future__ import annotations

import json

import pytest

from reconciler.applier.repair import RepairRecord, repair_path
from reconciler.localstate import write_state
from tests.contract.conftest import DemoFactory
from tests.support.cli import Run
from tests.support.contracts import DIALECT_CONTRACTS, rows
from tests.support.sandbox import writes

_FIELDS = ("sender", "subjectTemplate", "messageTemplate", "offsetDays", "active")


def _active_view(db: object, ref: tuple[int, int]) -> set[tuple[object, ...]]:
    return {
        (r["communicationType"], int(str(r["channelId"])), *(r[n] for n in _FIELDS))
        for r in rows(db, group=ref[0], target=ref[1])  # type: ignore[arg-type]
        if r["active"]
    }


@pytest.mark.parametrize("dialect", list(DIALECT_CONTRACTS))
def test_rollback_right_after_an_apply_restores_under_every_contract_mode(
    demo: DemoFactory, cli: Run, dialect: str
) -> None:
    run = demo(dialect, contract=DIALECT_CONTRACTS[dialect])
    refs = [(2163, 2317), (2163, 2318), (2163, 2319), (2170, 2401), (2170, 2402)]
    before = {ref: _active_view(run.db, ref) for ref in refs}
    code, out, err = cli("apply", "--auto-approve", "--report", "r.json")
    assert code == 0, out + err
    report = json.loads((run.repo / "r.json").read_text())
    assert report["targets"]
    config = run.repo / "reconciler.yaml"  # the restoration's deactivations are expected here
    config.write_text(config.read_text() + "    maxDeactivatePercent: 100\n")
    code, out, err = cli("rollback", "--report", "r.json", "--auto-approve")
    assert code == 0, out + err
    for ref in refs:
        assert _active_view(run.db, ref) == before[ref], ref
    # Ids kept where the row existed: a row hidden once deactivated is re-activated by its id.
    kept = {r["id"] for t in report["targets"] for r in t["preImage"] if r["active"]}
    now = {int(str(r["id"])) for ref in refs for r in rows(run.db, group=ref[0], target=ref[1])}
    active = {
        int(str(r["id"]))
        for ref in refs
        for r in rows(run.db, group=ref[0], target=ref[1])
        if r["active"]
    }
    assert kept <= now
    assert kept <= active


def test_rollback_writes_no_pending_repair_of_a_target_the_report_does_not_hold(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("drop-server-fields", contract={"keepsServerFields": False})
    code, out, err = cli(
        "apply", "manifests/summer-streak.yaml", "--auto-approve", "--report", "r.json"
    )
    assert code == 0, out + err
    # An earlier canary on another target left its server fields for the next apply to write.
    (row,) = [
        r for r in rows(run.db, group=2163, target=2317) if r["communicationType"] == "START"
    ][:1]
    record = RepairRecord(
        environment="test",
        targetGroupId=2163,
        targetId=2317,
        assumption="keepsServerFields",
        detail="an update without configs emptied them",
        serverFields={int(str(row["id"])): {"configs": [{"name": "trackLinks", "value": "true"}]}},
    )
    write_state(repair_path(run.repo, "test", (2163, 2317)), record)
    run.server.store.clear_request_log()
    code, out, err = cli("rollback", "--report", "r.json", "--auto-approve", "--force")
    assert code == 0, out + err
    touched = {r.path.split("/")[3] for r in writes(run.server.store.request_log())}
    assert touched == {"2170"}
    assert repair_path(run.repo, "test", (2163, 2317)).exists()  # still pending, for an apply
