"""The probe refuses a target a manifest declares and a target with active communications (one
line, exit 1, nothing written); with ``--allow-active`` it uses only types the target has no
row of and never changes the target's own rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from tests.probe.conftest import Start
from tests.support.cli import Run
from tests.support.probe import active_probe_rows, journal_file, rows, upserts


def _nothing_written(server: SandboxServer, repo: Path) -> None:
    assert upserts(server) == []
    assert not (repo / ".reconciler" / "contract-test.json").exists()
    assert not journal_file(repo).exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--target-group", "2163", "--target", "2317"),
        ("--target-group", "Spring Sprint 2026", "--target", "Spend 500 in April"),
    ],
)
def test_a_target_a_manifest_declares_is_refused(
    start: Start, cli: Run, repo: Path, args: tuple[str, ...]
) -> None:
    server = start()
    code, out, err = cli("probe", *args)
    assert (code, out) == (1, "")
    assert err == (
        "error: target 2317 (Spend 500 in April) of target group 2163 (Spring Sprint 2026) is "
        "declared by manifests/spring-sprint.yaml:12:3 (spring-sprint-spend-500); the probe "
        "writes test rows, so name a scratch target that no manifest declares\n"
    )
    _nothing_written(server, repo)


def test_a_target_with_active_communications_is_refused(start: Start, cli: Run, repo: Path) -> None:
    server = start()
    code, out, err = cli("probe", "--target-group", "2185", "--target", "2501")
    assert (code, out) == (1, "")
    assert err == (
        "error: target 2501 (Gold Anniversary) of target group 2185 (Anniversary Club) has 2 "
        "active communication(s) (ids 5141, 5142); name a scratch target with none, or pass "
        "--allow-active to use only communication types it has no row of\n"
    )
    _nothing_written(server, repo)


def test_an_unknown_target_is_refused_with_the_reason(start: Start, cli: Run, repo: Path) -> None:
    server = start()
    code, _, err = cli("probe", "--target-group", "2185", "--target", "Gold Anniversery")
    assert code == 1
    assert err == (
        "error: target 'Gold Anniversery' does not exist in target group 2185 (Anniversary "
        "Club); did you mean 'Gold Anniversary'?\n"
    )
    _nothing_written(server, repo)


def test_allow_active_leaves_the_targets_own_rows_byte_for_byte(start: Start, cli: Run) -> None:
    server = start()
    before = server.store.communications(2185, 2501)  # attribution included: every byte
    code, out, err = cli("probe", "--target-group", "2185", "--target", "2501", "--allow-active")
    assert (code, err) == (0, "")
    # The target has START and REMINDER rows: the probe takes the first two other types.
    assert "rows of types FINISH and CHANGE" in out
    after = server.store.communications(2185, 2501)
    assert [r for r in after if r["id"] in (5141, 5142)] == before
    made = [r for r in after if r["id"] not in (5141, 5142)]
    assert made
    assert {r["communicationType"] for r in made} == {"FINISH", "CHANGE"}
    assert not any(r["active"] for r in made)


def test_allow_active_on_a_replacing_server_restores_the_targets_own_rows(
    start: Start, cli: Run
) -> None:
    """The server deactivates the rows a body leaves out; the probe sends them back unchanged."""
    server = start("replace-set")
    compared = ("communicationType", "channelId", "messageTemplate", "sender", "offsetDays")
    before = {r["id"]: [r[k] for k in compared] for r in rows(server, 2501)}
    code, out, _ = cli("probe", "--target-group", "2185", "--target", "2501", "--allow-active")
    assert code == 2
    assert "so were the target's own rows 5141, 5142" in out
    assert "restored the target's own rows 5141, 5142" in out
    after = {r["id"]: r for r in rows(server, 2501)}
    for row_id, fields in before.items():
        assert after[row_id]["active"] is True
        assert [after[row_id][k] for k in compared] == fields
    assert active_probe_rows(server, 2501) == []


def test_allow_active_needs_two_types_the_target_has_no_row_of(
    start: Start, cli: Run, repo: Path
) -> None:
    server = start()
    for kind, channel in (("FINISH", 1), ("CHANGE", 1)):
        body = [
            {
                "active": True,
                "channelId": channel,
                "communicationType": kind,
                "messageTemplate": "live",
                "offsetDays": 0,
                "sender": "NW",
                "subjectTemplate": "",
            }
        ]
        server.store.upsert(2185, 2501, _elements(body), _ACTOR)
    server.store.clear_request_log()
    code, _, err = cli("probe", "--target-group", "2185", "--target", "2501", "--allow-active")
    assert code == 1
    assert err.startswith("error: target 2501 (Gold Anniversary) of target group 2185")
    assert "the probe needs two types the target has no row of" in err
    _nothing_written(server, repo)


_ACTOR = {"id": 1, "code": "ui", "description": "", "name": "ui", "type": "ADMIN_USER"}


def _elements(body: list[dict[str, object]]) -> list[object]:
    from reconciler.sandbox.models import UpsertElement

    return [UpsertElement.model_validate(e) for e in body]
