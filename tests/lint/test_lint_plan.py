"""Lint in plans, against a real sandbox server (issue 17, acceptance 4): a changed SMS shows its
segments, the PR comment lists the lint warnings of the communications the plan changes, and
a lint error refuses the plan before any request."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.lint.segments import measure
from reconciler.sandbox import SandboxServer
from tests.lint.conftest import ROOT, Cli, write_config

DEMO_REMINDER = (
    '"{{first_name}}, 3 days left to reach {{target_value}} and earn 1,000 bonus points."'
)
# The same reminder grown past one segment: a curly apostrophe makes it UCS-2.
LONG_REMINDER = (
    '"{{first_name}}, 3 days left to reach {{target_value}} and earn 1,000 bonus points. '
    'Don’t wait: every purchase this week counts double, in store or online at Northwind."'
)
TAGS = (
    "tags: [target_name, target_value, achieved_value, remaining_value, period_end_date, "
    "current_period, referral_code]"  # reward_code left out: two messages use it
)


@pytest.fixture
def demo(tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo manifests in a repository whose ``test`` environment is the sandbox server."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    write_config(
        tmp_path,
        "auth: basic",
        "channels: {1: sms, 2: email, 3: push}",
        TAGS,
        endpoint=sandbox.url,
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAPILLARY_USERNAME", "demo")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "demo-password")
    return tmp_path


def _edit(demo: Path, old: str, new: str) -> None:
    path = demo / "manifests" / "spring-sprint.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_reminder_grown_to_three_segments_shows_in_the_plan_and_the_comment(
    demo: Path, cli: Cli
) -> None:
    grown = measure(LONG_REMINDER.strip('"'))
    assert (measure(DEMO_REMINDER.strip('"')).segments, grown.segments) == (1, 3)
    _edit(demo, DEMO_REMINDER, LONG_REMINDER)
    column = LONG_REMINDER.index("’")  # the opening quote is not part of the message
    note = f"segments 1 → 3 (UCS-2: ’ at column {column})"

    code, out, err = cli("plan")
    assert code == 0
    assert f"      messageTemplate: {DEMO_REMINDER} → {LONG_REMINDER}\n      {note}\n" in out
    assert "[sms-encoding]" in err
    assert "[sms-multipart]" in err

    code, comment, _ = cli("plan", "--format", "markdown")
    assert code == 0
    assert f"        {note}\n" in comment
    warnings = comment.split("lint warnings</summary>", 1)[1].split("</details>", 1)[0]
    assert "manifests/spring-sprint.yaml:43:" in warnings  # the changed reminder's line
    assert "[sms-encoding]" in warnings
    assert "[sms-multipart]" in warnings
    # The referral email is created: its unknown tag is listed. The brunch email is unchanged:
    # its warning goes to the log, not to the comment.
    assert "spring-sprint.yaml:99:" in warnings
    assert "summer-streak.yaml" not in warnings
    assert "summer-streak.yaml:54:" in cli("plan", "--format", "markdown")[2]


def test_a_plan_without_sms_changes_shows_no_segments(demo: Path, cli: Cli) -> None:
    code, out, _ = cli("plan")
    assert code == 0
    assert "segments" not in out  # the demo's SMS changes touch offsets and activity only


def test_a_lint_error_refuses_the_plan_before_any_request(
    demo: Path, cli: Cli, sandbox: SandboxServer
) -> None:
    _edit(
        demo,
        "    sender: NWREWARDS\n    offsetDays: 3\n",
        "    sender: NW-REWARDS\n    offsetDays: 3\n",
    )
    sandbox.store.clear_request_log()
    code, out, err = cli("plan")
    assert code == 1
    assert out == ""
    assert err.startswith("error: manifests/spring-sprint.yaml:41:13: SMS sender id 'NW-REWARDS'")
    assert "[sms-sender]" in err
    assert sandbox.store.request_log() == []
    code, _, err = cli("apply", "--auto-approve")
    assert code == 1
    assert "[sms-sender]" in err
    assert sandbox.store.request_log() == []
