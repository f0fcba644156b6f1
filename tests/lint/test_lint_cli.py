"""``lint`` and ``validate`` on the command line (issue 17): severities and exit codes, the
formats, ``--strict``, per-environment levels, ignore comments, and channels by id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lint.conftest import Cli, manifest, write_config

SMS_TOO_LONG_SENDER = """  - communicationType: START
    channel: SMS
    sender: NORTHWINDREWARDS
    messageTemplate: "Welcome, {{first_name}}."
"""
SMS_UNKNOWN_TAG = """  - communicationType: START
    channel: SMS
    sender: NWREWARDS
    messageTemplate: "Welcome, {{frist_name}}."
"""


def _write(repo: Path, entries: str, *config: str) -> str:
    write_config(repo, *config)
    (repo / "manifests" / "m.yaml").write_text(manifest(entries), encoding="utf-8")
    return "manifests/m.yaml"


def test_validate_fails_on_a_lint_error_and_names_rule_and_fix(repo: Path, cli: Cli) -> None:
    _write(repo, SMS_TOO_LONG_SENDER)
    code, out, err = cli("validate")
    assert code == 1
    assert out == ""
    assert err == (
        "error: manifests/m.yaml:8:13: SMS sender id 'NORTHWINDREWARDS' is 16 characters; "
        "carriers drop alphanumeric ids over 11 [sms-sender]; fix: use 1-11 letters, digits or "
        "spaces with at least one letter, or up to 15 digits\n1 problem found\n"
    )
    assert cli("validate", "--no-lint")[0] == 0


def test_validate_prints_warnings_and_passes(repo: Path, cli: Cli) -> None:
    _write(repo, SMS_UNKNOWN_TAG)
    code, out, err = cli("validate")
    assert code == 0
    assert out == "ok: 1 document in 1 file (1 warning)\n"
    assert err.startswith("warning: manifests/m.yaml:9:32: unknown tag '{{frist_name}}'; ")
    assert "did you mean 'first_name'? [placeholder-unknown]; fix: write {{first_name}}" in err


def test_validate_github_prints_lint_problems_as_annotations(repo: Path, cli: Cli) -> None:
    """Acceptance 4: errors and warnings as workflow annotations at their positions."""
    _write(repo, SMS_TOO_LONG_SENDER.replace("Welcome, {{first_name}}", "Hi {{frist_name}}"))
    code, out, err = cli("validate", "--format", "github")
    assert code == 1
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith(
        "::error file=manifests/m.yaml,line=8,col=13,title=sms-sender::SMS sender id "
    )
    assert lines[1].startswith(
        "::warning file=manifests/m.yaml,line=9,col=26,title=placeholder-unknown::unknown tag"
    )
    assert len(lines) == 2


def test_lint_json_carries_rule_severity_and_fix(repo: Path, cli: Cli) -> None:
    _write(repo, SMS_UNKNOWN_TAG)
    code, out, _ = cli("lint", "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {
            "path": "manifests/m.yaml",
            "line": 9,
            "column": 32,
            "message": "unknown tag '{{frist_name}}'; did you mean 'first_name'?",
            "rule": "placeholder-unknown",
            "severity": "warning",
            "fix": "write {{first_name}}",
        }
    ]


def test_strict_makes_warnings_errors(repo: Path, cli: Cli) -> None:
    _write(repo, SMS_UNKNOWN_TAG)
    code, out, err = cli("lint", "--strict")
    assert code == 1
    assert out == ""
    assert err.startswith("error: manifests/m.yaml:9:32: unknown tag '{{frist_name}}'")


def test_the_environment_relevels_and_switches_off_rules(repo: Path, cli: Cli) -> None:
    _write(repo, SMS_TOO_LONG_SENDER, "lint: {rules: {sms-sender: warning}}")
    code, _, err = cli("lint")
    assert code == 0
    assert err.startswith("warning: manifests/m.yaml:8:13: SMS sender id")
    _write(repo, SMS_TOO_LONG_SENDER, "lint: {rules: {sms-sender: 'off'}}")
    assert cli("lint") == (0, "ok: 1 document in 1 file\n", "")


def test_an_unknown_rule_in_the_configuration_is_an_error_at_its_position(
    repo: Path, cli: Cli
) -> None:
    _write(repo, SMS_TOO_LONG_SENDER, "lint: {rules: {sms-sendr: warning}}")
    code, _, err = cli("lint")
    assert code == 1
    assert err == (
        "error: reconciler.yaml:6:19: environments.test.lint.rules: unknown lint rule "
        "'sms-sendr'; did you mean 'sms-sender'?\n"
    )


@pytest.mark.parametrize(
    "config",
    ["channels: {one: sms}", "channels: {1: fax}", "tags: [first name]", "maxSegments: 0"],
)
def test_lint_settings_are_checked_like_the_rest_of_the_configuration(
    repo: Path, cli: Cli, config: str
) -> None:
    _write(repo, SMS_UNKNOWN_TAG, config)
    code, _, err = cli("lint")
    assert code == 1
    assert err.startswith("error: reconciler.yaml:6:")


def test_an_ignore_comment_switches_a_rule_off_for_one_communication(repo: Path, cli: Cli) -> None:
    ignored = SMS_TOO_LONG_SENDER.replace(
        "sender: NORTHWINDREWARDS", "sender: NORTHWINDREWARDS  # reconciler: ignore[sms-sender]"
    )
    other = SMS_TOO_LONG_SENDER.replace("START", "FINISH")
    _write(repo, ignored + other)
    code, _, err = cli("lint")
    assert code == 1
    assert err.count("[sms-sender]") == 1
    assert "manifests/m.yaml:12:13:" in err  # the second communication's sender


def test_an_ignore_comment_on_the_line_above_belongs_to_the_communication_below(
    repo: Path, cli: Cli
) -> None:
    entries = "  # reconciler: ignore[sms-sender, placeholder-unknown]\n" + SMS_TOO_LONG_SENDER
    _write(repo, entries.replace("{{first_name}}", "{{frist_name}}"))
    assert cli("lint") == (0, "ok: 1 document in 1 file\n", "")


def test_text_inside_a_template_is_no_ignore_comment(repo: Path, cli: Cli) -> None:
    entries = """  - communicationType: START
    channel: SMS
    sender: NORTHWINDREWARDS
    messageTemplate: |
      Hi {{first_name}}
      # reconciler: ignore[sms-sender]
"""
    _write(repo, entries)
    code, _, err = cli("lint")
    assert code == 1
    assert "[sms-sender]" in err


def test_an_ignore_comment_naming_no_rule_is_reported(repo: Path, cli: Cli) -> None:
    entries = SMS_UNKNOWN_TAG.replace(
        "channel: SMS", "channel: SMS  # reconciler: ignore[placeholder-unknwn]"
    )
    _write(repo, entries)
    code, out, _ = cli("lint", "--format", "json")
    assert code == 0
    found = [(d["line"], d["column"], d["rule"]) for d in json.loads(out)]
    assert found == [(7, 19, "ignore-comment"), (9, 32, "placeholder-unknown")]


def test_a_channel_id_gets_channel_rules_only_when_the_environment_maps_it(
    repo: Path, cli: Cli
) -> None:
    by_id = SMS_TOO_LONG_SENDER.replace("channel: SMS", "channelId: 7")
    _write(repo, by_id)
    assert cli("lint") == (0, "ok: 1 document in 1 file\n", "")  # unmapped: skipped
    _write(repo, by_id, "channels: {7: sms}")
    code, _, err = cli("lint")
    assert code == 1
    assert "[sms-sender]" in err


def test_an_inactive_communication_is_not_linted(repo: Path, cli: Cli) -> None:
    _write(repo, SMS_TOO_LONG_SENDER + "    active: false\n")
    assert cli("lint") == (0, "ok: 1 document in 1 file\n", "")


def test_max_segments_is_per_environment(repo: Path, cli: Cli) -> None:
    long = SMS_UNKNOWN_TAG.replace("Welcome, {{frist_name}}.", "a" * 400)  # 3 segments
    _write(repo, long)
    code, _, err = cli("lint")
    assert (code, err.count("[sms-multipart]")) == (0, 1)
    _write(repo, long, "maxSegments: 2")
    code, _, err = cli("lint")
    assert code == 1
    assert "SMS needs 3 segments (400 septets), above maxSegments 2 [sms-segments]" in err


def test_liquid_tags_need_liquid_and_then_must_parse(repo: Path, cli: Cli) -> None:
    liquid = SMS_UNKNOWN_TAG.replace(
        "Welcome, {{frist_name}}.", "{% if first_name %}Hi {{ first_name | upcase }}{% endif %}"
    )
    _write(repo, liquid)
    code, _, err = cli("lint")
    assert code == 1
    assert "[liquid-tag]" in err
    _write(repo, liquid, "liquid: true")
    assert cli("lint") == (0, "ok: 1 document in 1 file\n", "")
    _write(repo, liquid.replace("{% endif %}", ""), "liquid: true")
    code, _, err = cli("lint")
    assert code == 1
    assert "[liquid-syntax]" in err


def test_lint_reports_manifest_problems_first(repo: Path, cli: Cli) -> None:
    _write(repo, SMS_UNKNOWN_TAG.replace("sender: NWREWARDS", "sendr: NWREWARDS"))
    code, _, err = cli("lint")
    assert code == 1
    assert "unknown field 'sendr'; did you mean 'sender'?" in err
    assert "[placeholder-unknown]" not in err
