"""Issue 16 acceptance 2, 3 and 5, for every sandbox dialect, over real HTTP on the demo manifests.

The oracle is the sandbox's own database, never the API under test: a dialect's run must end
with the same active communications as a run against the default sandbox (ids aside), but for
the rows its contract says a write cannot single out, which stay exactly as seeded. The group no
manifest declares stays byte for byte as it was.

2. With the contract file a probe would write: plan -> apply -> plan ends in "No changes", in T
   reads and C writes (object-body: one write per changed communication).
3. Without one: apply converges the same way (T + 1 reads: the canary's), or the canary stops it
   after the first target with exit 1 and one line naming the assumption; then nothing outside
   that target changed, and the next apply, with the contract file, repairs it.
"""

from __future__ import annotations

import json
import shutil

import pytest

from reconciler.applier import canary
from reconciler.sandbox import SandboxServer, reset
from reconciler.sandbox.dialects import DIALECTS
from tests.contract.conftest import Demo, DemoFactory
from tests.support import ROOT
from tests.support.cli import Run, write_config
from tests.support.contracts import (
    DEMO_TARGETS,
    DIALECT_CONTRACTS,
    UNDECLARED_GROUP,
    active_view,
    rows,
    server_fields,
)
from tests.support.sandbox import (
    assert_no_new_duplicates,
    key_counts,
    reads_of_communications,
    writes,
)

# Seeded rows a write cannot single out under the dialect's contract (a live duplicate of a key,
# two rows of one type): planned for nothing, named in a warning, left as they are.
LEFT = {"key-match": {5131}, "type-match": {5125, 5131}}
# The dialects whose answers contradict SPEC §2 on the demo's first target (2163/2317), and the
# assumption the canary names for each.
CANARY_STOPS = {
    "replace-set": canary.KEPT_LEFT_OUT,
    "type-match": canary.STORED_AS_SENT,
    "drop-server-fields": canary.KEEPS_SERVER_FIELDS,
    "object-body": canary.TAKES_ARRAY,
    # Only the first element of the canary's array was stored: not "as sent".
    "first-element": canary.STORED_AS_SENT,
}
CANARY_TARGET = (2163, 2317)
FIX = "run `reconciler probe`, commit its contract file, and apply again"
_REFERENCE: dict[str, object] = {}


@pytest.fixture
def reference(
    tmp_path_factory: pytest.TempPathFactory, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[int, int], list[tuple[object, ...]]]:
    """The demo's active communications after one apply against the default sandbox."""
    if "view" not in _REFERENCE:
        home = tmp_path_factory.mktemp("reference")
        shutil.copytree(ROOT / "manifests", home / "manifests")
        reset(home / "sandbox.db")
        with SandboxServer(home / "sandbox.db") as server, monkeypatch.context() as inside:
            inside.chdir(home)
            write_config(home, server.url)
            assert cli("apply", "--auto-approve")[0] == 0
        _REFERENCE["view"] = active_view(home / "sandbox.db", DEMO_TARGETS)
    return _REFERENCE["view"]  # type: ignore[return-value]


def plan_counts(cli: Run) -> tuple[int, int, int]:
    """T targets read, C targets changed, W communications changed, from ``plan --format json``."""
    code, out, err = cli("plan", "--format", "json")
    assert code == 0, err
    targets = json.loads(out)["targets"]
    changes = [[c for c in t["changes"] if c["action"] != "noop"] for t in targets]
    return len(targets), sum(1 for c in changes if c), sum(len(c) for c in changes)


def assert_converged(
    run: Demo,
    cli: Run,
    dialect: str,
    reference: object,
    seeded: list[dict[str, object]],
) -> None:
    code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert out.endswith("No changes. Live state matches the manifests.\n")
    left = LEFT.get(dialect, set())
    assert active_view(run.db, DEMO_TARGETS, leave_out=left) == reference
    assert [r for r in rows(run.db) if r["id"] in left] == [r for r in seeded if r["id"] in left]
    if dialect == "drop-server-fields":
        ids = [int(str(r["id"])) for r in seeded]
        assert server_fields(run.db, ids) == server_fields_as_seeded(seeded)


def server_fields_as_seeded(seeded: list[dict[str, object]]) -> dict[int, object]:
    from reconciler.sandbox.dialects import seeded_server_fields

    return {int(str(r["id"])): seeded_server_fields(int(str(r["channelId"]))) for r in seeded}


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_with_the_probed_contract_plan_apply_plan_ends_in_no_changes(
    dialect: str, demo: DemoFactory, cli: Run, reference: object
) -> None:
    run = demo(dialect, contract=DIALECT_CONTRACTS[dialect])
    seeded = rows(run.db)
    undeclared = rows(run.db, group=UNDECLARED_GROUP)
    before = key_counts(run.server.store, DEMO_TARGETS)
    reads, changed, communications = plan_counts(cli)
    run.server.store.clear_request_log()

    code, out, err = cli("apply", "--auto-approve")

    assert code == 0, out + err
    log = run.server.store.request_log()
    assert len(reads_of_communications(log)) == reads == len(DEMO_TARGETS)  # no canary
    expected_writes = communications if dialect in ("object-body", "first-element") else changed
    assert len(writes(log)) == expected_writes
    assert all(r.status == 200 for r in writes(log))
    assert_converged(run, cli, dialect, reference, seeded)
    assert_no_new_duplicates(run.server.store, before)
    assert rows(run.db, group=UNDECLARED_GROUP) == undeclared


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_without_a_contract_apply_converges_or_the_canary_stops_it_and_it_is_repaired(
    dialect: str, demo: DemoFactory, cli: Run, reference: object
) -> None:
    run = demo(dialect)
    seeded = rows(run.db)
    undeclared = rows(run.db, group=UNDECLARED_GROUP)
    reads, changed, _ = plan_counts(cli)
    run.server.store.clear_request_log()

    code, out, err = cli("apply", "--auto-approve", "--report", "r.json")

    log = run.server.store.request_log()
    report = json.loads((run.repo / "r.json").read_text())
    assert (report["canary"]["targetGroupId"], report["canary"]["targetId"]) == CANARY_TARGET
    if dialect not in CANARY_STOPS:
        assert code == 0, out + err
        assert report["canary"]["passed"] is True
        # Acceptance 5: T + 1 reads (the canary's re-read) and C writes.
        assert len(reads_of_communications(log)) == reads + 1
        assert len(writes(log)) == changed
        assert_converged(run, cli, "", reference, seeded)  # as the assumptions would
    else:
        assert code == 1
        [line] = [line for line in err.splitlines() if line.startswith("error: canary")]
        assert f"assumption failed: {CANARY_STOPS[dialect]} (" in line
        assert line.endswith(FIX)
        assert (report["canary"]["passed"], report["canary"]["assumption"]) == (
            False,
            CANARY_STOPS[dialect],
        )
        assert {r.path for r in writes(log)} == {
            "/v3/targetGroups/2163/targets/2317/communications/upsert"
        }
        outside = [r for r in rows(run.db) if (r["targetGroupId"], r["targetId"]) != CANARY_TARGET]
        assert outside == [
            r for r in seeded if (r["targetGroupId"], r["targetId"]) != CANARY_TARGET
        ]

        run.contract(DIALECT_CONTRACTS[dialect])
        code, out, err = cli("apply", "--auto-approve")
        assert code == 0, out + err
        assert_converged(run, cli, dialect, reference, seeded)
        assert list((run.repo / ".reconciler").glob("canary-*.json")) == []
    assert rows(run.db, group=UNDECLARED_GROUP) == undeclared


def test_the_default_sandbox_passes_the_canary_in_t_plus_one_reads_and_c_writes(
    demo: DemoFactory, cli: Run, reference: object
) -> None:
    run = demo()
    seeded = rows(run.db)
    reads, changed, _ = plan_counts(cli)
    run.server.store.clear_request_log()
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, out + err
    assert "canary" not in out + err  # a passing canary adds nothing to the output
    log = run.server.store.request_log()
    assert (len(reads_of_communications(log)), len(writes(log))) == (reads + 1, changed)
    assert_converged(run, cli, "", reference, seeded)
