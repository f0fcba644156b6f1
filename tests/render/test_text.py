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


def test_a_plan_against_a_git_base_says_its_scope_origins_and_released_targets() -> None:
    from tests.support.render import labelled_plan

    text = render_text(labelled_plan())
    lines = text.splitlines()
    assert lines[0] == (
        f"Changed since main ({'a' * 12}): 1 of 5 documents planned; the others are unchanged "
        "and were not read."
    )
    assert (
        '      sender: "ui@x.example" → "b@x.example"  (conflict: this change and a live edit '
        "differ (last updated by Jane Doe (jdoe) on 2026-03-01T10:00:00.000+0000))"
    ) in lines
    assert '      subjectTemplate: "Old" → "New"  (this change)' in lines
    assert (
        '      messageTemplate: "Edited live" → "Base text"  (overwrites a live edit (last '
        "updated by Jane Doe (jdoe) on 2026-03-01T10:00:00.000+0000))"
    ) in lines
    assert "      offsetDays: 2  (already live, nothing to write)" in lines
    assert "1 target no longer managed (document deleted since main); nothing is written:" in lines
    assert (
        "  - brunch (2170/2402) (manifests/summer-streak.yaml): no longer managed: its 3 active "
        "communications stay live; to remove them keep the document with `communications: []`"
    ) in lines


def test_the_released_section_ends_with_a_blank_line_like_every_section() -> None:
    from tests.support.render import labelled_plan

    lines = render_text(labelled_plan()).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  - brunch (2170/2402)"))
    assert lines[at + 1] == ""
