"""Golden renderings of the scenario plan: text (colour off), JSON, markdown, and the drift wording.

The files under tests/golden/ are read by humans in review. Set UPDATE_GOLDEN=1 to rewrite them;
otherwise the renderings must match them byte for byte.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.desired import DesiredTarget
from reconciler.plan import Plan
from reconciler.planner import LiveRead, make_plan
from reconciler.render.jsondoc import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
# Read at import: an autouse fixture that cleans the environment runs later.
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

GoldenInputs = tuple[list[DesiredTarget], dict[tuple[int, int], LiveRead]]
RENDERINGS: dict[str, Callable[[Plan], str]] = {
    "plan.txt": render_text,
    "drift.txt": lambda plan: render_text(plan, drift=True),
    "plan.json": render_json,
    "plan.md": render_markdown,
    "drift.md": lambda plan: render_markdown(plan, drift=True),
}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_rendering_matches_golden_file(name: str, golden_plan: Plan) -> None:
    """Each rendering of the scenario is exactly its golden file."""
    rendered = RENDERINGS[name](golden_plan)
    path = GOLDEN / name
    if UPDATE:
        path.write_text(rendered, encoding="utf-8", newline="")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    assert rendered == path.read_bytes().decode("utf-8")


def test_golden_scenario_covers_every_case(golden_plan: Plan) -> None:
    """The scenario really has each case acceptance 2 asks for."""
    changes = list(golden_plan.changes())
    reasons = {change.reason for change in changes}
    assert {c.action for c in changes} == {"create", "update", "deactivate", "noop"}
    assert "live duplicate" in reasons
    assert "re-activation" in reasons
    assert any(r and r.startswith("channel move") for r in reasons)
    assert any(t.readable and not t.has_changes for t in golden_plan.targets)
    assert golden_plan.unreadable


def test_no_colour_codes_unless_asked(golden_plan: Plan) -> None:
    assert "\x1b" not in render_text(golden_plan)
    coloured = render_text(golden_plan, color=True)
    assert "\x1b[32m+ create\x1b[0m" in coloured
    assert "\x1b[31m- deactivate\x1b[0m" in coloured


def test_text_ends_with_the_summary_line(golden_plan: Plan) -> None:
    assert render_text(golden_plan).endswith(
        "Plan: 2 to create, 3 to update, 3 to deactivate, 4 unchanged across 4 targets.\n"
    )


def test_json_is_byte_identical_whatever_the_input_order(
    golden_inputs: GoldenInputs, golden_plan: Plan
) -> None:
    """SPEC §4: same manifests and live state give the same bytes (generatedAt aside)."""
    desired, lives = golden_inputs
    shuffled = {
        ref: list(reversed(read)) if isinstance(read, list) else read
        for ref, read in reversed(list(lives.items()))
    }
    again = make_plan(
        list(reversed(desired)),
        shuffled,
        "sandbox",
        datetime.fromisoformat(golden_plan.generatedAt),
        channels=golden_plan.channels,
    )
    assert render_json(again) == render_json(golden_plan)
