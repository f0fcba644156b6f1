"""``rollback`` on servers whose upsert is not the assumed one (issue 19, SPEC §9): each contract
mode over real HTTP against a sandbox speaking the matching dialect."""

from __future__ import annotations

import json

import pytest

from tests.contract.conftest import DemoFactory
from tests.support.cli import Run
from tests.support.contracts import DIALECT_CONTRACTS, rows

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
