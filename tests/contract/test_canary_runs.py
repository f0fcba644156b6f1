"""The canary over real HTTP (SPEC §9, issue 16): with no contract file nor ``contract:`` block,
apply writes the first target alone, re-reads it and checks SPEC §2's assumptions before any other
target starts; it costs one read (a lagging read is read again), and whatever stops it stops the
run with one line, a report entry, and nothing else written."""

from __future__ import annotations

import json

from reconciler.sandbox import Fault
from reconciler.sandbox.dialects import seeded_server_fields
from tests.contract.conftest import DemoFactory
from tests.support.cli import Run, write_config
from tests.support.contracts import DEMO_TARGETS, rows, server_fields
from tests.support.sandbox import reads_of_communications, upsert, writes

FIRST = (2163, 2317)


def test_a_saved_plan_apply_costs_c_plus_one_reads_and_c_writes(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo()
    assert cli("plan", "--out", "plan.json")[0] == 0
    run.server.store.clear_request_log()
    code, out, err = cli("apply", "--plan", "plan.json", "--auto-approve")
    assert code == 0, out + err
    log = run.server.store.request_log()
    reads = reads_of_communications(log)
    assert (len(reads), len(writes(log))) == (len(DEMO_TARGETS) + 1, len(DEMO_TARGETS))
    # The stale check reads every changed target once; the canary reads the first once more,
    # after its write and before any other write.
    first_after = [r for r in reads if r.path.endswith("/2317/communications")][-1]
    assert [w.path for w in writes(log) if w.seq < first_after.seq] == [upsert(*FIRST)]


def test_the_other_targets_start_only_after_the_canary_re_read(demo: DemoFactory, cli: Run) -> None:
    run = demo()
    run.server.store.clear_request_log()
    assert cli("apply", "--auto-approve", "--parallelism", "8")[0] == 0
    log = run.server.store.request_log()
    first_write = next(r for r in log if r.is_write)
    assert first_write.path == upsert(*FIRST)
    canary_read = next(r for r in log if r.seq > first_write.seq and r.method == "GET")
    assert canary_read.path == upsert(*FIRST)[: -len("/upsert")]
    assert all(r.seq > canary_read.seq for r in writes(log) if r is not first_write)


def test_a_lagging_re_read_is_read_again_not_taken_for_a_violation(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo(faults={"read_lag_ms": 1000})
    run.server.store.clear_request_log()
    code, out, err = cli("apply", "--auto-approve", "--report", "r.json")
    assert code == 0, out + err
    assert json.loads((run.repo / "r.json").read_text())["canary"]["passed"] is True
    reads = reads_of_communications(run.server.store.request_log())
    assert len(reads) == len(DEMO_TARGETS) + 2  # the lagging re-read, then one after the lag


def test_a_canary_write_that_fails_stops_the_run_without_proving_anything(
    demo: DemoFactory, cli: Run, fast_retries: None
) -> None:
    run = demo(faults={"path_faults": {upsert(*FIRST): Fault.FAIL_500}})
    before = rows(run.db)
    code, out, err = cli("apply", "--auto-approve", "--report", "r.json")
    assert code == 1
    assert out.count("not started (the canary check failed)") == 4
    [line] = [line for line in err.splitlines() if line.startswith("error: canary")]
    assert line.startswith(
        "error: canary on spring-sprint-spend-500 (2163/2317): could not confirm: the upsert "
        "behaves as assumed ("
    )
    assert {r.path for r in writes(run.server.store.request_log())} == {upsert(*FIRST)}
    assert rows(run.db) == before
    canary = json.loads((run.repo / "r.json").read_text())["canary"]
    assert (canary["passed"], canary["verdict"]) == (False, "could not confirm")


def test_a_pending_repair_waits_for_a_contract_that_echoes_server_fields(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("drop-server-fields")
    # The canary finds the emptied configs; the report keeps them as they were.
    assert cli("apply", "--auto-approve", "--report", "r.json")[0] == 1
    lost = json.loads((run.repo / "r.json").read_text())["canary"]["lostServerFields"]
    assert lost["5101"]["configs"] == seeded_server_fields(2)["configs"]
    [record] = (run.repo / ".reconciler").glob("canary-test-*.json")
    assert record.name == "canary-test-2163-2317.json"
    assert sorted(json.loads(record.read_text())["serverFields"]) == ["5101", "5103"]
    code, _, err = cli("plan")
    assert code == 0
    code, _, err = cli("apply", "--auto-approve")  # still no contract: the canary stays put
    assert code == 1
    assert (
        "warning: spring-sprint-spend-500 (2163/2317): a canary run's write emptied server "
        "fields of ids 5101, 5103; the first apply whose contract says keepsServerFields: "
        "false writes them back (run `reconciler probe`)"
    ) in err
    assert record.is_file()


def test_a_stated_contract_repairs_what_the_canary_left(demo: DemoFactory, cli: Run) -> None:
    run = demo("drop-server-fields")
    assert cli("apply", "--auto-approve")[0] == 1
    write_config(run.repo, run.server.url, contract="{keepsServerFields: false}")
    run.server.store.clear_request_log()
    code, out, err = cli("apply", "--auto-approve", "--report", "r.json")
    assert code == 0, out + err
    assert (
        "✓ spring-sprint-spend-500 (2163/2317): restored configs, supportedCommChannels of ids "
        "5101, 5103, emptied by the write of a canary run"
    ) in out
    [repair] = json.loads((run.repo / "r.json").read_text())["repairs"]
    assert repair["outcome"] == "applied"
    assert list((run.repo / ".reconciler").glob("canary-*.json")) == []
    fields = server_fields(run.db, [5101, 5103])
    assert fields == {5101: seeded_server_fields(2), 5103: seeded_server_fields(2)}
