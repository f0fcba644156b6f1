"""The PR comment over real HTTP: a 200 KB template in the first target (issue 14 item 9).

`plan --format markdown` (the PR comment), the step summary of `plan` and of `apply` all stay
under 60,000 characters, name every target with changes, and stay well-formed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.render.markdown import LIMIT
from tests.support.cli import Run
from tests.support.render import assert_well_formed

FIRST_LINE = "      Hi {{first_name}},\n"


def enlarge_first_template(workspace: Path, size: int = 200_000) -> None:
    """Grow the first target's START template (spring-sprint-spend-500) to ``size`` bytes."""
    path = workspace / "manifests" / "spring-sprint.yaml"
    text = path.read_text()
    assert text.count(FIRST_LINE) >= 1
    filler = "".join(
        f"      <p>Line {i}: spend {{{{target_value}}}} for 1,000 bonus points.</p>\n"
        for i in range(size // 60)
    )
    path.write_text(text.replace(FIRST_LINE, FIRST_LINE + filler, 1))


def test_plan_comment_with_a_huge_first_target_names_every_target(
    workspace: Path, cli: Run
) -> None:
    enlarge_first_template(workspace)
    document = json.loads(cli("plan", "--format", "json")[1])
    changed = [t for t in document["targets"] if any(c["action"] != "noop" for c in t["changes"])]
    assert len(changed) >= 3
    assert changed[0]["targetId"] == 2317  # the huge one comes first
    code, out, err = cli("plan", "--format", "markdown")
    assert code == 0, err
    comment = out.rstrip("\n") + "\n"
    assert len(comment) <= LIMIT
    assert_well_formed(comment)
    for target in changed:
        assert re.search(rf"<details><summary><code>[^\n]*target {target['targetId']}", comment)
    assert "left out" not in comment
    assert "cut here" in comment
    assert comment.rstrip().endswith("unchanged across 5 targets.")


def test_step_summaries_of_plan_and_apply_stay_within_the_budget(
    workspace: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    enlarge_first_template(workspace, 90_000)  # the sandbox stores at most 100,000
    summary = workspace / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert cli("plan")[0] == 0
    planned = summary.read_text()
    assert len(planned) <= LIMIT
    assert_well_formed(planned)
    assert planned.count("<details><summary><code>") >= 3
    summary.write_text("")
    code, _, err = cli("apply", "--auto-approve")
    assert code == 0, err
    applied = summary.read_text()
    assert len(applied.split("### reconciler apply")[0]) <= LIMIT
    assert_well_formed(applied)
    assert applied.count("<details><summary><code>") >= 3
    assert "### reconciler apply" in applied
