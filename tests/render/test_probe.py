"""The probe's text rendering: the table with one row per question and whether it is as
assumed, the differences with what the tool does, the evidence without attribution and cut,
the clean-up; API text inert. And its JSON: the contract document itself."""

from __future__ import annotations

import json

from reconciler.contract import Contract, ContractFile
from reconciler.probe.questions import CONSEQUENCES, Answer, Cleanup, Leftover, ProbeReport
from reconciler.render.github import ZERO_WIDTH_SPACE
from reconciler.render.probe import render_probe_json, render_probe_text

CONTRACT = Contract(upsert="replace")
DOCUMENT = ContractFile(
    environment="prod",
    endpoint="https://eu.api.capillarytech.com",
    probedAt="2026-01-01T00:00:00+00:00",
    targetGroupId=1,
    targetId=2,
    contract=CONTRACT,
)


def _report(**changes: object) -> ProbeReport:
    answers = [Answer(q, f"answer {q}", True, steps=[1]) for q in "abdefgijk"]
    answers.insert(2, Answer("c", "deactivated: id 7", False, CONSEQUENCES["c"], [3, 4]))
    answers.insert(
        7, Answer("h", "HTTP 400: " + "x" * 50 + " ::error::boom\nsecond line", None, steps=[9])
    )
    report = ProbeReport(
        environment="prod",
        endpoint="https://eu.api.capillarytech.com",
        probedAt="2026-01-01T00:00:00+00:00",
        targetGroupId=1,
        targetGroupName="Group",
        targetId=2,
        targetName="Scratch",
        channels=[(1, "SMS"), (2, "EMAIL")],
        types=("START", "FINISH"),
        answers=answers,
        evidence=[
            {
                "step": 1,
                "what": "create A, as an array",
                "request": "POST /v3/targetGroups/1/targets/2/communications/upsert",
                "body": [{"active": True}],
                "status": 200,
                "answer": {
                    "data": [{"id": 7, "attribution": {"createdBy": "x"}}],
                    "pad": "p" * 400,
                },
            }
        ],
        contract=CONTRACT,
        cleanup=Cleanup(1, 2, deactivated=[7, 8]),
        document=DOCUMENT,
        contract_file=".reconciler/contract-prod.json",
        journal_file=".reconciler/probe-prod.journal.json",
    )
    for name, value in changes.items():
        setattr(report, name, value)
    return report


def test_the_table_has_a_row_per_question_marking_what_differs() -> None:
    text = render_probe_text(_report())
    lines = text.splitlines()
    assert lines[0] == (
        "Probe of target 2 (Scratch) in target group 1 (Group), environment prod: rows of types "
        "START and FINISH on SMS (1) and EMAIL (2)"
    )
    table = [line for line in lines if line.startswith("(")]
    assert [line[1] for line in table] == list("abcdefghijk")
    row_c = next(line for line in table if line.startswith("(c) rows left out"))
    assert "deactivated: id 7" in row_c
    assert " NO " in row_c
    assert row_c.endswith("steps 3, 4")
    row_h = next(line for line in table if line.startswith("(h)"))
    assert row_h.endswith("-            step 9")
    assert "Differences from the assumptions, and what the tool does about them:" in lines
    assert f"  (c) {CONSEQUENCES['c']}" in lines
    assert lines[-2:] == [
        "Clean-up: deactivated ids 7, 8.",
        'Contract (upsert: "replace") written to .reconciler/contract-prod.json.',
    ]


def test_api_text_is_inert_and_evidence_is_cut_without_attribution() -> None:
    text = render_probe_text(_report())
    assert "\nsecond line" not in text  # the answer's newline is shown, not obeyed
    assert f":{ZERO_WIDTH_SPACE}:error::boom" in text  # a wrapped line would start with it
    assert not [line for line in text.splitlines() if line.lstrip().startswith("::")]
    answer_line = next(line for line in text.splitlines() if line.startswith("    answer: "))
    assert "attribution" not in answer_line
    assert answer_line.startswith('    answer: HTTP 200 {"data":[{"id":7}],"pad":"ppp')
    assert answer_line.endswith("…")
    assert '    sent:   [{"active":true}]' in text


def test_as_assumed_and_the_clean_up_that_left_rows() -> None:
    answers = [Answer(q, "fine", True) for q in "abcdefghijk"]
    cleanup = Cleanup(1, 2, left=[Leftover(9, "START", 1, "still active")])
    earlier = Cleanup(1, 2, deactivated=[5])
    text = render_probe_text(
        _report(answers=answers, cleanup=cleanup, earlier=earlier, contract=Contract())
    )
    assert "Every answer is as assumed." in text
    assert "Rows an earlier probe left (its journal): deactivated ids 5." in text
    assert "Clean-up: COULD NOT clean up id 9 (START, channel 1): still active." in text
    # An unfinished clean-up writes no contract, so apply keeps its canary.
    assert "Contract (as assumed) NOT written: the clean-up did not finish" in text
    assert "written to" not in text


def test_json_is_the_contract_document() -> None:
    assert json.loads(render_probe_json(DOCUMENT)) == DOCUMENT.model_dump(mode="json")
