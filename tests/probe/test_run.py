"""``run_probe`` through the CLI on the default sandbox: every answer is as assumed (exit 0), the
contract file holds the defaults and the evidence, and the scratch target keeps no active row of
the probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.contract import Contract, read_contract_file
from tests.probe.conftest import Start
from tests.support.cli import Run
from tests.support.probe import (
    SCRATCH_ARGS,
    active_probe_rows,
    journal_file,
    rows,
    upserts,
)

QUESTIONS = "abcdefghijk"


def test_default_sandbox_answers_every_question_as_assumed(
    start: Start, cli: Run, repo: Path
) -> None:
    server = start()
    code, out, err = cli(*SCRATCH_ARGS)
    assert (code, err) == (0, "")
    for question in QUESTIONS:
        assert f"\n({question}) " in out
    assert "Every answer is as assumed." in out
    assert " NO " not in out
    assert "Contract (as assumed) written to" in out
    found = read_contract_file(repo / ".reconciler" / "contract-test.json")
    assert found is not None
    assert found.contract == Contract()
    assert (found.targetGroupId, found.targetId) == (2185, 2502)
    answers = {a["id"]: a for a in found.answers}
    assert sorted(answers) == list(QUESTIONS)
    assert {a["matches"] for a in answers.values()} <= {True, None}
    assert answers["e"]["matches"] is None
    assert str(answers["e"]["answer"]).startswith("unknown: the server returned no configs")
    assert str(answers["g"]["answer"]).startswith("rejected: HTTP 400")
    assert str(answers["h"]["answer"]).startswith("HTTP 400: code 300004")
    assert answers["b"]["answer"].startswith("adds a second row")  # type: ignore[union-attr]
    # Every answer rests on at least one request and its answer.
    for answer in answers.values():
        if answer["id"] != "f" or answer["matches"] is not None:
            evidence = answer["evidence"]
            assert isinstance(evidence, list)
            assert evidence
            assert all("request" in e and "status" in e and "answer" in e for e in evidence)
    # It wrote, and cleaned up all it wrote; the journal is gone.
    assert upserts(server)
    assert active_probe_rows(server) == []
    assert len(rows(server)) == 4  # A, B, A's second row, A's type on EMAIL: all inactive
    assert not journal_file(repo).exists()


def test_names_work_as_well_as_ids_and_the_channel_can_be_chosen(start: Start, cli: Run) -> None:
    server = start()
    code, out, _ = cli(
        "probe",
        "--target-group",
        "Anniversary Club",
        "--target",
        "Probe scratch",
        "--channel",
        "EMAIL",
    )
    assert code == 0
    assert "on EMAIL (2) and SMS (1)" in out
    first = min(rows(server), key=lambda r: r["id"])  # row A, on the chosen channel
    assert (first["communicationType"], first["channelId"]) == ("START", 2)
    assert active_probe_rows(server) == []


def test_a_second_probe_on_the_same_target_uses_fresh_types_and_cleans_up_again(
    start: Start, cli: Run
) -> None:
    server = start()
    assert cli(*SCRATCH_ARGS)[0] == 0
    code, out, _ = cli(*SCRATCH_ARGS)
    assert code == 0
    assert "rows of types CHANGE and REMINDER" in out  # START and FINISH have inactive rows
    assert active_probe_rows(server) == []


def test_read_only_credentials_fail_in_one_clear_way_and_leave_nothing(
    start: Start, cli: Run, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 403 on the first write stores nothing: no clean-up to claim, no journal to leave."""
    server = start()
    monkeypatch.setenv("CAPILLARY_USERNAME", "demo-readonly")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "demo-readonly-password")
    before = rows(server)

    code, out, err = cli(*SCRATCH_ARGS)

    assert code == 1
    assert "HTTP 403" in err
    assert "nothing was written: the probe made no rows" in err
    assert "Contract" not in out
    assert "clean-up" not in err
    assert not journal_file(repo).exists()
    assert not (repo / ".reconciler" / "contract-test.json").exists()
    assert rows(server) == before
