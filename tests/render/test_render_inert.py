"""SPEC §7 and issue 10 item 11: text from manifests or the API prints inert, in every format."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from reconciler.api.wire import Communication
from reconciler.desired import DesiredCommunication, DesiredTarget, Source
from reconciler.plan import Plan
from reconciler.planner import LiveRead, ReadFailure, make_plan
from reconciler.render.github import ZERO_WIDTH_SPACE, inert, neutralize_commands
from reconciler.render.jsondoc import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

HOSTILE_LINES = [
    "::add-mask::x",
    "::error::x",
    "  ::stop-commands::token123",
    "\t::warning file=a::x",
    "before ##[error]legacy command",
    "\x1b[2J\x1b[31mred\x1b[0m and \x9b2J and \x07",
    "right-to-left \u202e override",
    "@team please look <img src=x onerror=alert(1)> <script>x</script>",
    "```",
    "````` and ~~~",
]
HOSTILE = "\n".join(HOSTILE_LINES) + "\n"
ONE_LINE = "::error::x ##[add-mask]y @team <img src=x> ``` \x1b[31m"


def hostile_plan() -> Plan:
    def want(typ: str, message: str, subject: str) -> DesiredCommunication:
        return DesiredCommunication(
            typ, 1, sender=ONE_LINE, subjectTemplate=subject, messageTemplate=message,
            offsetDays=0, active=True, source=Source("m.yaml", 2, 3),
        )  # fmt: skip

    def live(id: int, typ: str, message: str) -> Communication:
        return Communication.model_validate(
            {"id": id, "communicationType": typ, "channelId": 1, "messageTemplate": message,
             "attribution": {"lastUpdatedBy": {"name": ONE_LINE, "code": "::error::c"}}}
        )  # fmt: skip

    target = DesiredTarget(
        name="::error::name @team", targetGroupId=1, targetId=2, prune=True,
        communications=(want("START", HOSTILE, ONE_LINE), want("FINISH", HOSTILE, "y")),
        source=Source("::error::m.yaml"), targetGroupName="<img src=x>", targetName=ONE_LINE,
    )  # fmt: skip
    broken = DesiredTarget("b", 1, 3, True, (), Source("b.yaml"), targetName="```")
    lives: dict[tuple[int, int], LiveRead] = {
        (1, 2): [live(9, "START", "old\n" + HOSTILE), live(10, "CHANGE", HOSTILE)],
        (1, 3): ReadFailure("::error::read failed\n##[error]x @team <img>"),
    }
    channels = {1: "::error::SMS <img src=x> @team"}
    return make_plan(
        [target, broken], lives, "@env", datetime(2026, 1, 1, tzinfo=UTC), channels=channels
    )


def assert_no_workflow_commands(output: str) -> None:
    for line in output.split("\n"):
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line


def assert_no_raw_controls(output: str, allow_sgr: bool = False) -> None:
    if allow_sgr:
        output = re.sub(r"\x1b\[\d+m", "", output)
    bad = re.findall("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", output)
    assert not bad, bad


@pytest.mark.parametrize("drift", [False, True])
@pytest.mark.parametrize("color", [False, True])
def test_text_output_is_inert(color: bool, drift: bool) -> None:
    output = render_text(hostile_plan(), color=color, drift=drift)
    assert_no_workflow_commands(output)
    assert_no_raw_controls(output, allow_sgr=color)
    assert "␛[31mred␛[0m" in output  # shown, not obeyed
    assert f":{ZERO_WIDTH_SPACE}:add-mask::x" in output


def test_json_output_is_inert_and_loses_nothing() -> None:
    plan = hostile_plan()
    output = render_json(plan)
    assert_no_workflow_commands(output)
    assert_no_raw_controls(output)
    assert Plan.from_json(output) == plan
    assert json.loads(output)["targets"][0]["changes"][-1]["after"]["messageTemplate"] == HOSTILE


def outside_code(markdown: str) -> str:
    """The markdown a reader sees rendered: fenced blocks and <code> elements removed.

    Fences follow CommonMark: a block closes only on a line of at least as many backticks.
    """
    kept: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        if fence is None:
            opening = re.match(r" {0,3}(`{3,})", line)
            if opening:
                fence = opening.group(1)
            else:
                kept.append(re.sub(r"<code>[^<]*</code>", "", line))
        elif re.fullmatch(rf" {{0,3}}`{{{len(fence)},}}[ \t]*", line):
            fence = None
    assert fence is None, "a code fence is left open"
    return "\n".join(kept)


@pytest.mark.parametrize("drift", [False, True])
def test_markdown_templates_and_names_render_inert(drift: bool) -> None:
    output = render_markdown(hostile_plan(), drift=drift)
    assert_no_workflow_commands(output)
    assert_no_raw_controls(output)
    visible = outside_code(output)
    assert "@" not in visible
    allowed = r"</?(details|summary)>"
    assert not re.findall(r"<(?!/?(details|summary)>)", re.sub(allowed, "", visible)), visible
    assert "```" in output
    assert "``````" in output


def test_neutralize_commands_keeps_text_readable() -> None:
    assert neutralize_commands("plain :: text ## [x]") == "plain :: text ## [x]"
    assert neutralize_commands("  ::error::x") == f"  :{ZERO_WIDTH_SPACE}:error::x"
    assert inert("\x1b[1m::x") == "␛[1m::x"  # ESC is not whitespace: no command after escaping
