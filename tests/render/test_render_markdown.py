"""Markdown for pull-request comments: the 60,000-character cap, fences, inline code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.api.wire import Communication
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.plan import Plan
from reconciler.planner import make_plan
from reconciler.render.markdown import LIMIT, code, fence, render_markdown

MESSAGE = "Hi {{first_name}},\n\nYou are {{remaining_value}} away from 1,000 bonus points.\n"


def many_targets(count: int) -> Plan:
    desired = [
        DesiredTarget(
            name=f"campaign-{i:05d}",
            targetGroupId=100 + i // 100,
            targetId=10_000 + i,
            prune=True,
            communications=(
                DesiredCommunication(
                    "START", 2, "loyalty@example.com", "Subject", MESSAGE, 0, True
                ),
            ),
            source=Source(f"manifests/campaign-{i:05d}.yaml", 1, 1),
            targetGroupName="Group",
            targetName=f"Target {i}",
        )
        for i in range(count)
    ]
    old = MESSAGE.replace("1,000", "500")
    live = {
        d.ref: [
            Communication(
                id=i + 1,
                communicationType="START",
                channelId=2,
                sender="loyalty@example.com",
                subjectTemplate="Subject",
                messageTemplate=old,
            )
        ]
        for i, d in enumerate(desired)
    }
    return make_plan(
        desired, live, "prod-eu", datetime(2026, 1, 1, tzinfo=UTC), channels={2: "EMAIL"}
    )


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
