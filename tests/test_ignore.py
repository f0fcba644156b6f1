"""``reconciler.ignore``: the one decision of which fields live edits own, and the two
contradictions a rule can write, each a validation error at its ``file:line:column``."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.ignore import difference_line, ignored_fields, without
from reconciler.manifests import load_manifests
from tests.support.cli import Run

ENTRY = {"communicationType": "START", "channel": "EMAIL", "ignore": ["offsetDays"]}


def test_every_level_adds_its_fields_in_the_compared_fields_order() -> None:
    rules: list[object] = [
        "sender",
        {"communicationType": "START", "channel": "EMAIL", "fields": ["messageTemplate"]},
        {"communicationType": "START", "channel": "SMS", "fields": ["subjectTemplate"]},
    ]
    assert ignored_fields(["active"], rules, ENTRY) == (
        "sender",
        "messageTemplate",
        "offsetDays",
        "active",
    )
    assert ignored_fields([], [], {"communicationType": "START", "channelId": 2}) == ()


def test_a_keyed_rule_matches_the_channel_as_the_entry_writes_it() -> None:
    rule = {"communicationType": "START", "channelId": 2, "fields": ["sender"]}
    assert ignored_fields([], [rule], {"communicationType": "START", "channelId": 2}) == ("sender",)
    assert ignored_fields([], [rule], {"communicationType": "START", "channel": "EMAIL"}) == ()


def test_fingerprint_rows_and_the_info_line() -> None:
    assert without({"a": 1, "messageTemplate": "x"}, ["messageTemplate"]) == {"a": 1}
    assert (
        difference_line(["messageTemplate"], "Jane", "2026-03-18T16:42:51.877+0000")
        == "ignored: messageTemplate differs, edited by Jane on 2026-03-18T16:42:51.877+0000"
    )
    assert difference_line(["sender", "offsetDays"], None, None) == (
        "ignored: sender, offsetDays differ"
    )


def _doc(top: str = "", entry: str = "", active: str = "") -> str:
    return (
        "apiVersion: reconciler/v1\n"
        "kind: TargetCommunications\n"
        "metadata: {name: t}\n"
        "target: {targetGroup: 1, target: 2}\n"
        f"{top}"
        "communications:\n"
        "  - communicationType: START\n"
        "    channel: EMAIL\n"
        "    sender: a@b.example\n"
        "    messageTemplate: hi\n"
        f"{active}"
        f"{entry}"
    )


CONTRADICTIONS = [
    # (level, document text, environment rules, expected "line:column: reason" start)
    (
        "communication",
        _doc(entry="    ignore: [active]\n", active="    active: false\n"),
        [],
        "10:13",
    ),
    ("document", _doc(top="ignore: [active]\n", active="    active: false\n"), [], "11:13"),
    (
        "document (keyed)",
        _doc(
            top="ignore: [{communicationType: START, channel: EMAIL, fields: [active]}]\n",
            active="    active: false\n",
        ),
        [],
        "11:13",
    ),
    ("environment", _doc(active="    active: false\n"), ["active"], "10:13"),
]


@pytest.mark.parametrize(("level", "text", "environment", "at"), CONTRADICTIONS)
def test_ignoring_active_on_a_communication_declared_inactive_is_an_error(
    tmp_path: Path, level: str, text: str, environment: list[str], at: str
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    result = load_manifests([str(path)], root=tmp_path, ignore=environment)
    (problem,) = result.diagnostics
    assert f"{problem.line}:{problem.column}" == at, level
    assert "'active: false' switches this communication off" in problem.message
    assert not result.documents


def test_a_rule_for_a_communication_the_document_does_not_declare_is_an_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.yaml"
    rules = (
        "ignore:\n"
        "  - messageTemplate\n"
        "  - {communicationType: FINISH, channel: EMAIL, fields: [sender]}\n"
        "  - {communicationType: START, channelId: 2, fields: [sender]}\n"
        "  - {communicationType: START, channel: EMAIL, channelId: 2, fields: [sender]}\n"
    )
    path.write_text(_doc(top=rules))
    problems = load_manifests([str(path)], root=tmp_path).diagnostics
    assert [(p.line, p.column) for p in problems] == [(7, 5), (8, 5), (9, 5)]
    assert "ignore rule for FINISH on channel EMAIL, which this document does not declare" in (
        problems[0].message
    )
    assert "START on channel 2, which this document does not declare" in problems[1].message
    assert "exactly one of them" in problems[2].message


def test_only_compared_fields_can_be_ignored(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(_doc(entry="    ignore: [channelId]\n"))
    (problem,) = load_manifests([str(path)], root=tmp_path).diagnostics
    assert (problem.line, problem.column) == (10, 14)
    assert "messageTemplate" in problem.message


def test_validate_reports_an_environment_rule_contradiction_with_its_position(
    repo: Path, cli: Run
) -> None:
    (repo / "reconciler.yaml").write_text(
        "environments:\n  sandbox:\n    endpoint: sandbox\n    ignore: [active]\n"
    )
    (repo / "manifests").mkdir(exist_ok=True)
    (repo / "manifests" / "m.yaml").write_text(_doc(active="    active: false\n"))
    code, _, err = cli("validate")
    assert code == 1
    assert err.startswith("error: manifests/m.yaml:10:13: 'active: false' switches"), err


def test_an_unknown_key_in_a_keyed_rule_names_the_rule_fields_at_the_key(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    rule = "ignore:\n  - {communicationType: START, channel: EMAIL, feilds: [sender]}\n"
    path.write_text(_doc(top=rule))
    problems = load_manifests([str(path)], root=tmp_path).diagnostics
    unknown = [p for p in problems if "unknown field" in p.message]
    assert [(p.line, p.column) for p in unknown] == [(6, 48)]
    assert unknown[0].message == "unknown field 'feilds'; did you mean 'fields'?"
    path.write_text(_doc(top=rule.replace("feilds", "extra")))
    (unknown,) = [
        p for p in load_manifests([str(path)], root=tmp_path).diagnostics if "unknown" in p.message
    ]
    assert unknown.message.endswith(
        "expected one of: communicationType, channel, channelId, fields"
    )
