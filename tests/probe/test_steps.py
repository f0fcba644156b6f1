"""Issue 16 acceptance 1: against a sandbox speaking a dialect, the probe reports exactly that
dialect's answers (exit 2, the contract settings it needs, every other answer as assumed) and
leaves the scratch target with no active communication it created."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.contract import Contract, read_contract_file
from tests.probe.conftest import Start
from tests.support.cli import Run
from tests.support.probe import SCRATCH_ARGS, active_probe_rows, journal_file

# dialect(s) -> {question: how its answer starts}, and the contract settings that differ.
EXPECTED: dict[tuple[str, ...], tuple[dict[str, str], dict[str, object]]] = {
    ("replace-set",): ({"c": "deactivated: id"}, {"upsert": "replace"}),
    ("key-match",): ({"b": "updates it: id"}, {"match": "key"}),
    ("type-match",): (
        {"b": "updates it: id", "k": "overwrites: id"},
        {"match": "type"},
    ),
    ("hide-inactive",): ({"d": "no: id"}, {"inactiveRowsVisible": False}),
    ("drop-server-fields",): ({"e": "empties them: id"}, {"keepsServerFields": False}),
    # Numeric strings are read as numbers: a difference in (i), but no setting to change.
    ("string-ids",): ({"i": 'as a string: sent 1, the upsert answered "1"'}, {}),
    ("object-body",): ({"j": "one object only: an array got HTTP 400"}, {"body": "object"}),
    # A server that silently stores only the first element of an array answers 200: only the
    # read back shows it, and one request per communication is what works there.
    ("first-element",): ({"f": "only 1 of the 2 elements"}, {"body": "single"}),
    # Combinations: each behaviour is still told apart.
    ("replace-set", "hide-inactive"): (
        {"c": "deactivated or deleted: id", "d": "no: id"},
        {"upsert": "replace", "inactiveRowsVisible": False},
    ),
    ("type-match", "object-body", "drop-server-fields"): (
        {
            "b": "updates it: id",
            "k": "overwrites: id",
            "e": "empties them: id",
            "j": "one object only",
        },
        {"match": "type", "keepsServerFields": False, "body": "object"},
    ),
    ("key-match", "string-ids", "hide-inactive"): (
        {"b": "updates it: id", "i": "as a string", "d": "no: id"},
        {"match": "key", "inactiveRowsVisible": False},
    ),
}


@pytest.mark.parametrize("dialects", list(EXPECTED), ids=lambda d: "+".join(d))
def test_probe_reports_exactly_the_dialects_answers(
    start: Start, cli: Run, repo: Path, dialects: tuple[str, ...]
) -> None:
    differing, settings = EXPECTED[dialects]
    server = start(*dialects)
    code, out, err = cli(*SCRATCH_ARGS)
    assert (code, err) == (2, "")
    found = read_contract_file(repo / ".reconciler" / "contract-test.json")
    assert found is not None
    assert found.contract == Contract().model_copy(update=settings)
    answers = {str(a["id"]): a for a in found.answers}
    assert sorted(q for q, a in answers.items() if a["matches"] is False) == sorted(differing)
    for question, start_of_answer in differing.items():
        assert str(answers[question]["answer"]).startswith(start_of_answer)
        assert answers[question]["consequence"]
        assert f"  ({question}) " in out  # listed with what the tool does about it
    assert active_probe_rows(server) == []
    assert not journal_file(repo).exists()


def test_object_body_leaves_the_order_question_open(start: Start, cli: Run, repo: Path) -> None:
    start("object-body")
    assert cli(*SCRATCH_ARGS)[0] == 2
    found = read_contract_file(repo / ".reconciler" / "contract-test.json")
    assert found is not None
    order = next(a for a in found.answers if a["id"] == "f")
    assert (order["matches"], order["answer"]) == (
        None,
        "not applicable: the upsert takes one object",
    )


def test_drop_server_fields_says_whether_carrying_configs_back_keeps_them(
    start: Start, cli: Run, repo: Path
) -> None:
    start("drop-server-fields")
    code, out, _ = cli(*SCRATCH_ARGS)
    assert code == 2
    assert "keepsServerFields: false — every update echoes the live row's configs back" in out
    found = read_contract_file(repo / ".reconciler" / "contract-test.json")
    assert found is not None
    configs = next(a for a in found.answers if a["id"] == "e")
    assert str(configs["answer"]).endswith("an update that carries them back keeps them")
