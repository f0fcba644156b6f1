"""Each contract mode over real HTTP against a sandbox speaking the matching dialect (SPEC §9,
issue 16): what the requests carry, what the plan says, and what the sandbox holds afterwards.
``test_dialect_convergence`` pins the end state of the demo for every dialect; these pin each
mode's own promise."""

from __future__ import annotations

import json

from reconciler.sandbox import Fault
from tests.contract.conftest import Demo, DemoFactory
from tests.support.cli import Run
from tests.support.contracts import rows
from tests.support.manifests import communication, manifest
from tests.support.sandbox import reads_of_communications, upsert, writes

SMS, EMAIL, PUSH = 1, 2, 3


def report_bodies(run: Demo, ref: tuple[int, int]) -> list[list[dict[str, object]]]:
    report = json.loads((run.repo / "r.json").read_text())
    [target] = [t for t in report["targets"] if (t["targetGroupId"], t["targetId"]) == ref]
    return [request["sent"] for request in target["requests"]]


def by_id(run: Demo, group: int, target: int) -> dict[int, dict[str, object]]:
    return {int(str(r["id"])): r for r in rows(run.db, group=group, target=target)}


def test_replace_sends_the_whole_active_set_and_keeps_what_prune_false_keeps(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("replace-set", contract={"upsert": "replace"})
    code, out, err = cli("apply", "--auto-approve", "--report", "r.json")
    assert code == 0, out + err
    # 2402 (prune: false): deactivate the older START duplicate; FINISH and START 5132 are as
    # declared and CHANGE/SMS 5134 is the partner team's: all three ride along, with ids.
    [body] = report_bodies(run, (2170, 2402))
    assert sorted((w.get("id"), w["active"]) for w in body) == [
        (5131, False),
        (5132, True),
        (5133, True),
        (5134, True),
    ]
    live = by_id(run, 2170, 2402)
    assert [i for i, r in live.items() if r["active"]] == [5132, 5133, 5134]
    # Sent as it was: rewritten (so its attribution is the run's), its content unchanged.
    assert (
        live[5134]["messageTemplate"]
        == "{{achieved_value}} of 4 brunches done. The next one is close!"
    )
    # 2401: the unchanged START/PUSH, CHANGE and FINISH go with the REMINDER update.
    [body] = report_bodies(run, (2170, 2401))
    assert sorted(w.get("id") for w in body if w["active"]) == [5121, 5122, 5123, 5124]


def test_a_saved_plan_under_replace_writes_from_the_re_read_it_checked(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("replace-set", contract={"upsert": "replace"})
    assert cli("plan", "--out", "plan.json")[0] == 0
    assert json.loads((run.repo / "plan.json").read_text())["contract"]["upsert"] == "replace"
    run.server.store.clear_request_log()
    code, out, err = cli("apply", "--plan", "plan.json", "--auto-approve")
    assert code == 0, out + err
    log = run.server.store.request_log()
    assert len(reads_of_communications(log)) == len(writes(log)) == 5  # C reads, C writes
    assert cli("plan", "--detailed-exitcode")[0] == 0
    assert by_id(run, 2163, 2317)[5102]["active"] == 1  # REMINDER: never in the plan, kept


def test_a_saved_plan_made_under_another_contract_is_stale(demo: DemoFactory, cli: Run) -> None:
    run = demo("replace-set")
    assert cli("plan", "--out", "plan.json")[0] == 0  # under the assumptions
    run.contract({"upsert": "replace"})
    run.server.store.clear_request_log()
    code, _, err = cli("apply", "--plan", "plan.json", "--auto-approve")
    assert code == 4
    assert (
        "stale plan: 'plan.json' was made under another API contract (the assumptions) than this run honours (upsert: \"replace\")"
        in err
    )
    assert writes(run.server.store.request_log()) == []


def test_hidden_inactive_rows_plan_a_re_activation_as_a_create_that_says_so(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("hide-inactive", contract={"inactiveRowsVisible": False})
    code, out, _ = cli("plan")
    assert code == 0
    assert (
        "+ create     FINISH on SMS (channelId 1) — a new row: this API lists no inactive rows, "
        "so a paused one cannot be re-activated"
    ) in out
    assert cli("apply", "--auto-approve")[0] == 0
    live = by_id(run, 2163, 2318)
    assert live[5112]["active"] == 0  # the paused row stays paused; a new one is live
    assert [r["communicationType"] for i, r in live.items() if r["active"]] == ["START", "FINISH"]


def test_an_api_that_drops_server_fields_gets_them_back_with_every_update(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("drop-server-fields", contract={"keepsServerFields": False})
    code, out, err = cli("apply", "--auto-approve", "--report", "r.json")
    assert code == 0, out + err
    [body] = report_bodies(run, (2163, 2317))
    sent = {w.get("id"): w for w in body}
    assert sent[5101]["configs"] == [
        {"name": "senderName", "value": "Northwind Rewards"},
        {"name": "replyTo", "value": "care@northwind.example"},
    ]
    assert sent[5103]["supportedCommChannels"] == ["EMAIL"]  # the deactivation too
    assert "configs" not in sent[None]  # a create: the server's own defaults
    stored = json.loads(str(by_id(run, 2163, 2317)[5101]["serverFields"]))
    assert stored["configs"] == sent[5101]["configs"]


def test_object_body_sends_one_request_per_communication_and_the_plan_says_so(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("object-body", contract={"body": "object"})
    out = cli("plan")[1]
    assert out.endswith(
        "Plan: 4 to create, 3 to update, 4 to deactivate, 7 unchanged across 5 targets, "
        "in 11 upsert requests (one per communication).\n"
    )
    assert "in 11 upsert requests" in cli("plan", "--format", "markdown")[1]
    run.server.store.clear_request_log()
    assert cli("apply", "--auto-approve", "--report", "r.json")[0] == 0
    assert len(writes(run.server.store.request_log())) == 11
    assert [len(b) for b in report_bodies(run, (2163, 2317))] == [1, 1, 1, 1]


def test_object_body_recovers_an_ambiguous_request_without_a_duplicate(
    demo: DemoFactory, cli: Run
) -> None:
    """The second request's answer is lost after it committed: the target is re-read and only
    what is still missing is sent, one object at a time."""
    run = demo(
        "object-body",
        contract={"body": "object"},
        faults={"write_script": {2: Fault.AMBIGUOUS_500}},
    )
    code, out, err = cli("apply", "--auto-approve", "--parallelism", "1")
    assert code == 0, out + err
    assert "recovered after ambiguous write" in out
    sent = writes(run.server.store.request_log())
    assert len([r for r in sent if r.committed]) == len(sent) == 11  # nothing sent twice
    assert cli("plan", "--detailed-exitcode")[0] == 0


def test_type_match_moves_a_channel_in_place(demo: DemoFactory, cli: Run) -> None:
    run = demo("type-match", contract={"match": "type"})
    out = cli("plan")[1]
    assert (
        "~ update     CHANGE on MOBILE PUSH (channelId 3), id 5103 — channel move from CHANGE "
        "on EMAIL (channelId 2), in place (one row per type)"
    ) in out
    assert "channelId: 2 → 3" in out
    assert cli("apply", "--auto-approve")[0] == 0
    change = [
        r for r in rows(run.db, group=2163, target=2317) if r["communicationType"] == "CHANGE"
    ]
    assert [(r["id"], r["channelId"], r["active"]) for r in change] == [(5103, PUSH, 1)]


def test_type_match_refuses_two_channels_for_one_type_before_any_request(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("type-match", contract={"match": "type"})
    entries = [
        communication("START", EMAIL, "Hi", subject="In"),
        communication("START", SMS, "Hi", sender="NWREWARDS"),
    ]
    (run.repo / "manifests" / "two.yaml").write_text(manifest("two", 2185, 2501, entries))
    run.server.store.clear_request_log()
    for command in (["plan"], ["apply", "--auto-approve"]):
        code, _, err = cli(*command)
        assert code == 1
        assert (
            "error: manifests/two.yaml:8:5: START is declared on channelId 2 (at "
            "manifests/two.yaml:7:5) and again on channelId 1; this API keeps one communication "
            "per communicationType on a target (contract match: type): keep one of them"
        ) in err
    assert run.server.store.request_log() == []  # nothing read, nothing written


def test_key_match_leaves_a_live_duplicate_it_cannot_single_out_and_says_why(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo("key-match", contract={"match": "key"})
    out = cli("plan")[1]
    assert (
        "2 live communications share key START on EMAIL (channelId 2) (ids 5131, 5132); this API "
        "matches an upsert by (communicationType, channelId), not by id"
    ) in out
    assert "5131" not in out.split("Warnings:")[0]  # no change names it
    run.server.store.clear_request_log()
    assert cli("apply", "--auto-approve")[0] == 0
    assert upsert(2170, 2402) not in {r.path for r in writes(run.server.store.request_log())}


def test_a_contract_stated_in_reconciler_yaml_needs_no_canary(demo: DemoFactory, cli: Run) -> None:
    run = demo(stated="{upsert: merge}")
    run.server.store.clear_request_log()
    assert cli("apply", "--auto-approve")[0] == 0
    assert len(reads_of_communications(run.server.store.request_log())) == 5  # T, no canary


def test_a_replacing_upsert_of_one_object_is_refused_before_any_request(
    demo: DemoFactory, cli: Run
) -> None:
    run = demo(contract={"upsert": "replace", "body": "object"})
    run.server.store.clear_request_log()
    code, _, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "every request would deactivate the rest of the target" in err
    assert run.server.store.request_log() == []


def test_an_ambiguous_deactivation_on_an_api_that_hides_inactive_rows_is_not_resent(
    demo: DemoFactory, cli: Run
) -> None:
    """The re-read no longer lists the deactivated row: that is the deactivation, done."""
    run = demo(
        "hide-inactive",
        contract={"inactiveRowsVisible": False},
        faults={"write_script": {1: Fault.AMBIGUOUS_500}},
    )
    code, out, err = cli("apply", "--auto-approve", "--parallelism", "1")
    assert code == 0, out + err
    assert (
        "✓ spring-sprint-spend-500 (2163/2317): 2 created, 1 updated, 1 deactivated; recovered"
        in out
    )
    sent = writes(run.server.store.request_log())
    assert [r.path for r in sent].count(upsert(2163, 2317)) == 1
    assert by_id(run, 2163, 2317)[5103]["active"] == 0
