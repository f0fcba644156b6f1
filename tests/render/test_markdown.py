"""Markdown for pull-request comments: the 60,000-character budget, fences, inline code.

The budget is shared fairly (issue 14 item 9): a target whose diff alone is larger than its
share is shown cut, at a line boundary, with a note; the targets after it still appear. Targets
are left out (and counted) only when not even their heading fits. Whatever is cut, the markdown
stays well-formed: every fence closed, every ``<details>`` closed, nothing outside a fence that
came from a template.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.api.wire import Communication
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.plan import Plan
from reconciler.planner import make_plan
from reconciler.render.markdown import LIMIT, code, fence, render_markdown
from tests.support.render import assert_well_formed

SMALL = "Hi {{first_name}},\n\nYou are {{remaining_value}} away from 1,000 bonus points.\n"


def huge_template(size: int = 200_000, *, line: str | None = None) -> str:
    line = line or "<p>Spend {{target_value}} before {{period_end_date}} for bonus points.</p>"
    count = size // (len(line) + 1) + 1
    return "\n".join(f"{line} {i}" for i in range(count)) + "\n"


def plan_of(
    messages: list[str], *, live_messages: list[str | None] | None = None, name: str = "campaign"
) -> Plan:
    """One target per message: a create (no live row) or, with a live message, an update."""
    live_messages = live_messages or [None] * len(messages)
    desired = [
        DesiredTarget(
            name=f"{name}-{i:03d}",
            targetGroupId=100,
            targetId=1000 + i,
            prune=True,
            communications=(
                DesiredCommunication(
                    "START", 2, "loyalty@example.com", "Subject", message, 0, True
                ),
            ),
            source=Source(f"manifests/{name}-{i:03d}.yaml", 1, 1),
            targetGroupName="Group",
            targetName=f"Target {i}",
        )
        for i, message in enumerate(messages)
    ]
    live = {
        d.ref: (
            []
            if old is None
            else [
                Communication(
                    id=i + 1,
                    communicationType="START",
                    channelId=2,
                    sender="loyalty@example.com",
                    subjectTemplate="Subject",
                    messageTemplate=old,
                )
            ]
        )
        for i, (d, old) in enumerate(zip(desired, live_messages, strict=True))
    }
    return make_plan(
        desired, live, "prod-eu", datetime(2026, 1, 1, tzinfo=UTC), channels={2: "EMAIL"}
    )


def many_targets(count: int) -> Plan:
    """``count`` targets, each with one update of a small template."""
    return plan_of([SMALL] * count, live_messages=[SMALL.replace("1,000", "500")] * count)


def shown_targets(markdown: str) -> list[str]:
    return re.findall(r"<details><summary><code>(campaign-\d+)", markdown)


def test_a_huge_first_target_is_cut_and_every_target_after_it_still_appears() -> None:
    """The defect: a 200 KB template in the first target left out every target."""
    plan = plan_of([huge_template(), SMALL, SMALL, SMALL, SMALL])
    output = render_markdown(plan)
    assert len(output) <= LIMIT
    assert shown_targets(output) == [f"campaign-{i:03d}" for i in range(5)]
    assert "left out" not in output
    assert_well_formed(output)
    first, *rest = output.split("<details><summary><code>")[1:]
    assert "cut here: " in first  # the note says what is missing
    assert "more lines of this diff not shown" in first
    assert len(first) > LIMIT // 2  # it gets the room the others do not need
    for block in rest:
        assert "cut here" not in block
        assert block.count("+         Hi {{first_name}},") == 1  # shown whole
    assert output.endswith(
        "Plan: 5 to create, 0 to update, 0 to deactivate, 0 unchanged across 5 targets.\n"
    )


def test_the_cut_is_at_a_line_boundary_of_the_diff() -> None:
    template = huge_template()
    output = render_markdown(plan_of([template, SMALL]))
    block = output.split("<details><summary><code>")[1]
    body = block.split("```diff\n", 1)[1].split("\n```", 1)[0]
    template_lines = set(template.splitlines())
    shown = [line for line in body.split("\n") if line.startswith("+         ")]
    assert len(shown) > 100
    for line in shown:
        assert line[len("+         ") :] in template_lines  # whole lines, never half of one


def test_a_huge_target_in_the_middle_does_not_hide_the_ones_after_it() -> None:
    plan = plan_of(
        [SMALL, SMALL, huge_template(), SMALL, SMALL],
        live_messages=[
            SMALL.replace("1,000", "500"),
            None,
            huge_template().replace("bonus", "extra"),
            None,
            None,
        ],
    )
    output = render_markdown(plan)
    assert len(output) <= LIMIT
    assert shown_targets(output) == [f"campaign-{i:03d}" for i in range(5)]
    assert_well_formed(output)


def test_several_huge_targets_share_the_budget_fairly() -> None:
    plan = plan_of([huge_template() for _ in range(5)])
    output = render_markdown(plan)
    assert len(output) <= LIMIT
    blocks = output.split("<details><summary><code>")[1:]
    assert len(blocks) == 5
    sizes = [len(b) for b in blocks]
    assert min(sizes) > 8_000  # each a fair share, not the first one taking everything
    assert max(sizes) - min(sizes) < 1_000
    assert all("cut here" in b for b in blocks)
    assert_well_formed(output)


def test_one_enormous_line_is_shortened_rather_than_showing_nothing() -> None:
    output = render_markdown(plan_of(["x" * 300_000 + "\n", SMALL]))
    assert len(output) <= LIMIT
    assert len(shown_targets(output)) == 2
    assert "x" * 10_000 in output
    assert_well_formed(output)


@pytest.mark.parametrize(
    "nasty",
    [
        "`" * 40,  # a backtick run longer than the fence
        "```",
        "</details>",
        "```\n</details>\n<details>",
        "~~~",
    ],
)
def test_cut_blocks_stay_well_formed_whatever_the_template_holds(nasty: str) -> None:
    template = "\n".join(f"{nasty} line {i} {nasty}" for i in range(20_000)) + "\n"
    output = render_markdown(plan_of([template, template.upper(), SMALL]))
    assert len(output) <= LIMIT
    assert len(shown_targets(output)) == 3
    assert_well_formed(output)


def test_an_enormous_target_name_is_shortened_in_its_heading() -> None:
    plan = plan_of([SMALL, SMALL], name="campaign" + "-" * 5 + "a" * 200_000)
    output = render_markdown(plan)
    assert len(output) <= LIMIT
    assert output.count("<details><summary><code>") == 2
    assert_well_formed(output)


def test_targets_are_left_out_only_when_not_even_their_heading_fits() -> None:
    plan = plan_of([SMALL] * 3000)
    output = render_markdown(plan)
    assert len(output) <= LIMIT
    shown = len(shown_targets(output))
    assert 50 < shown < 3000
    assert f"**{3000 - shown} of 3000 targets with changes left out**" in output
    assert_well_formed(output)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(
        st.one_of(st.just(0), st.integers(1, 200), st.integers(5_000, 120_000)),
        min_size=1,
        max_size=12,
    ),
    limit=st.sampled_from([4_000, 12_000, 60_000]),
)
def test_any_mix_of_sizes_fits_and_stays_well_formed(sizes: list[int], limit: int) -> None:
    messages = [huge_template(n) if n else SMALL for n in sizes]
    plan = plan_of(messages)
    output = render_markdown(plan, limit=limit)
    assert len(output) <= limit
    assert_well_formed(output)
    shown = len(shown_targets(output))
    left = re.search(r"\*\*(\d+) of (\d+) targets with changes left out\*\*", output)
    assert shown + (int(left.group(1)) if left else 0) == len(sizes)
    if shown < len(sizes):  # left out only because even a heading did not fit
        assert left is not None
    assert shown >= 1


def test_five_thousand_changed_targets_stay_under_the_limit() -> None:
    """Issue 5, acceptance 7: under 60,000 characters, saying how many targets were left out."""
    plan = many_targets(5000)
    output = render_markdown(plan)
    assert len(output) <= LIMIT
    shown = output.count("<details><summary><code>")
    assert 50 < shown < 5000
    assert f"**{5000 - shown} of 5000 targets with changes left out**" in output
    assert output.endswith(
        "Plan: 0 to create, 5000 to update, 0 to deactivate, 0 unchanged across 5000 targets.\n"
    )
    assert output.count("<details>") == output.count("</details>")


def test_whole_targets_are_left_out_never_half_of_one() -> None:
    output = render_markdown(many_targets(40), limit=8_000)
    assert len(output) <= 8_000
    blocks = output.split("<details><summary><code>")[1:]
    assert blocks
    assert all(block.count("</details>") == 1 for block in blocks)
    assert all(block.count("```diff\n") == 1 and "\n```\n" in block for block in blocks)
    assert "left out" in output


def test_nothing_is_left_out_when_it_fits() -> None:
    output = render_markdown(many_targets(3))
    assert "left out" not in output
    assert output.count("<details><summary><code>") == 3


def test_no_changes() -> None:
    plan = make_plan([], {}, "sandbox", datetime(2026, 1, 1, tzinfo=UTC))
    output = render_markdown(plan)
    assert output.endswith("\nNo changes. Live state matches the manifests.\n")
    assert "<details>" not in output
    assert render_markdown(plan, drift=True).endswith(
        "\nNo drift. Live state matches the manifests.\n"
    )


@pytest.mark.parametrize(
    ("body", "marks"),
    [("plain", 3), ("a ``` b", 4), ("`````", 6), ("`x` and ``y``", 3)],
)
def test_fences_are_longer_than_any_backtick_run(body: str, marks: int) -> None:
    block = fence([body], "diff")
    assert block == f"{'`' * marks}diff\n{body}\n{'`' * marks}\n"


def test_inline_code_escapes_everything_that_could_render() -> None:
    assert code("@team <img src=x> [a](b) *c* `d` &e;") == (
        "<code>&#64;team &#60;img src&#61;x&#62; &#91;a&#93;&#40;b&#41; &#42;c&#42; "
        "&#96;d&#96; &#38;e&#59;</code>"
    )
    assert code("plain-name, 2") == "<code>plain-name, 2</code>"


def test_live_edits_and_conflicts_come_first_under_a_warning() -> None:
    from tests.support.render import labelled_plan

    comment = render_markdown(labelled_plan())
    warning = comment.index("> [!WARNING]")
    assert warning < comment.index("| to create")
    block = comment[warning : comment.index("\n\n", warning)].splitlines()
    assert block[1] == "> **Merging overwrites live edits:** 1 live edit and 1 conflict"
    assert "sender" in block[2]  # the conflict first
    assert "conflict: this pull request changes it, and it was edited live" in block[2]
    assert "messageTemplate" in block[3]
    assert "merging overwrites it" in block[3]
    assert "Jane Doe" in block[3]
    assert '+       subjectTemplate: "New"  # this change' in comment
    assert "> [!NOTE]" in comment
    assert_well_formed(comment)


@pytest.mark.parametrize("drift", [False, True])
def test_the_legend_names_the_signs_its_lines_use(golden_plan: Plan, drift: bool) -> None:
    """Issue 20 item 11: drift's `+ missing` is a manifest-only row, so a legend saying only
    "`+` is the live value" contradicted it. Every head line's sign and word is in the legend,
    and the field lines' direction too."""
    import re

    text = render_markdown(golden_plan, drift=drift)
    (legend,) = [line for line in text.splitlines() if line.startswith("In each diff")]
    heads = set(
        re.findall(r"^([+~-]) (missing|changed|extra|create|update|deactivate)\b", text, re.M)
    )
    assert heads  # the scenario has all three
    for sign, word in heads:
        assert f"`{sign} {word}`" in legend
    old, new = ("manifest", "live") if drift else ("live", "manifest")
    assert f"`-` is the {old} value and `+` the {new} value" in legend


def test_the_base_line_is_untrusted_text_a_pull_request_wrote() -> None:
    """The full-plan reason names reconciler.yaml keys, which the pull request writes: they
    must not mention, link or render in the comment."""
    from tests.support.render import labelled_plan

    plan = labelled_plan()
    assert plan.base is not None
    full = "reconciler.yaml changed since main outside vars (environments.@acme/ops <b>x</b>)"
    based = plan.model_copy(
        update={"base": plan.base.model_copy(update={"changedSince": True, "full": full})}
    )
    comment = render_markdown(based)
    assert "Full plan: reconciler.yaml changed since main" in html.unescape(comment)
    assert "@acme" not in comment
    assert "<b>" not in comment
    assert_well_formed(comment)
