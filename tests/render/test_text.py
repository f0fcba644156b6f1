"""Text rendering details (SPEC §5): closing lines, template diffs, drift wording."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.api.wire import Communication
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.plan import Plan
from reconciler.planner import LiveRead, ReadFailure, make_plan
from reconciler.render.text import render_text
from reconciler.render.wording import template_diff

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def one_target(live: LiveRead, message: str = "m") -> Plan:
    desired = DesiredTarget(
        "t",
        1,
        2,
        True,
        (DesiredCommunication("START", 1, "S", "", message, 0, True),),
        Source("t.yaml"),
    )
    return make_plan([desired], {(1, 2): live}, "e", NOW)


def comm(message: str) -> Communication:
    return Communication(
        id=4, communicationType="START", channelId=1, sender="S", messageTemplate=message
    )


def test_no_changes_line() -> None:
    assert render_text(one_target([comm("m")])) == "No changes. Live state matches the manifests.\n"
    assert render_text(one_target([comm("m")]), drift=True) == (
        "No drift. Live state matches the manifests.\n"
    )


def test_unreadable_targets_are_never_no_changes() -> None:
    output = render_text(one_target(ReadFailure("timed out")))
    assert "1 target could not be read; nothing is planned for it:" in output
    assert "t: target group 1, target 2 (t.yaml): timed out" in output
    assert output.endswith("No changes in the 0 targets that could be read.\n")


def test_single_line_update_shows_before_and_after() -> None:
    output = render_text(one_target([comm("old")], "new"))
    assert '      messageTemplate: "old" → "new"\n' in output
    assert "  ~ update     START on channelId 1, id 4\n" in output


def test_multi_line_templates_are_a_unified_diff() -> None:
    output = render_text(one_target([comm("a\nb\nc\n")], "a\nB\nc\n"))
    assert "--- live\n        +++ manifest\n        @@ -1,3 +1,3 @@\n" in output
    assert "         a\n        -b\n        +B\n         c\n" in output


def test_template_diff_marks_a_missing_final_newline() -> None:
    assert template_diff("a\n", "a", ("live", "manifest")) == [
        "--- live",
        "+++ manifest",
        "@@ -1 +1 @@",
        "-a",
        "+a",
        "\\ No newline at end of file",
    ]
    assert template_diff("a\nb", "a\nc", ("x", "y"))[-2:] == ["-b", "+c"]
