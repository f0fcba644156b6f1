"""`plan` and `drift` against a real sandbox server over HTTP (SPEC §4, §5; issue 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Run


def test_first_plan_shows_every_kind_of_change(workspace: Path, cli: Run) -> None:
    code, out, err = cli("plan")
    assert code == 0, err
    assert "+ " in out  # a create
    assert "- " in out  # a deactivate
    assert "~ " in out  # an update
    assert "@@" in out  # a multi-line template as a unified diff
    assert out.rstrip().splitlines()[-1].startswith("Plan: ")
    assert "2185" not in out  # the unmanaged group is never mentioned


def test_detailed_exitcode_is_2_with_changes(workspace: Path, cli: Run) -> None:
    code, _, _ = cli("plan", "--detailed-exitcode")
    assert code == 2


def test_detailed_exitcode_is_0_without_changes(workspace: Path, cli: Run) -> None:
    assert cli("apply", "--auto-approve")[0] == 0
    code, out, _ = cli("plan", "--detailed-exitcode")
    assert code == 0
    assert out.strip().endswith("No changes. Live state matches the manifests.")


def test_drift_exits_2_on_drift(workspace: Path, cli: Run) -> None:
    code, out, _ = cli("drift")
    assert code == 2
    assert out.strip()


def test_drift_exits_0_when_live_matches(workspace: Path, cli: Run) -> None:
    assert cli("apply", "--auto-approve")[0] == 0
    assert cli("drift")[0] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ("plan", "--format", "yaml"),
        ("plan", "--shard", "4/3"),
        ("plan", "--select", "team"),
        ("drift", "--nope"),
    ],
)
def test_usage_errors_exit_1(workspace: Path, cli: Run, argv: tuple[str, ...]) -> None:
    code, _, err = cli(*argv)
    assert code == 1
    assert err.startswith("error: ")


def test_json_plan_is_byte_stable_apart_from_generated_at(workspace: Path, cli: Run) -> None:
    first = json.loads(cli("plan", "--format", "json")[1])
    second = json.loads(cli("plan", "--format", "json")[1])
    assert first["formatVersion"] == 1
    first.pop("generatedAt")
    second.pop("generatedAt")
    assert first == second
    assert {"create", "update", "deactivate", "noop"} <= set(first["summary"])


def test_shards_cover_every_target_exactly_once(workspace: Path, cli: Run) -> None:
    def targets(*extra: str) -> list[tuple[int, int]]:
        document = json.loads(cli("plan", "--format", "json", *extra)[1])
        return [(t["targetGroupId"], t["targetId"]) for t in document["targets"]]

    everything = targets()
    shards = [targets("--shard", f"{k}/3") for k in (1, 2, 3)]
    union = [ref for shard in shards for ref in shard]
    assert sorted(union) == sorted(everything)  # every target, and none twice
    assert len(set(union)) == len(everything) == 5


def test_select_and_target_group_narrow_the_plan(workspace: Path, cli: Run) -> None:
    document = json.loads(cli("plan", "--format", "json", "--select", "team=growth")[1])
    assert [t["targetId"] for t in document["targets"]] == [2319]
    document = json.loads(cli("plan", "--format", "json", "--target-group", "Summer Streak")[1])
    assert sorted(t["targetId"] for t in document["targets"]) == [2401, 2402]


def test_request_budget_of_planning(workspace: Path, cli: Run, sandbox: object) -> None:
    """Planning T targets in G groups sends at most T + G + 2 requests."""
    sandbox.store.clear_request_log()  # type: ignore[attr-defined]
    assert cli("plan")[0] == 0
    log = sandbox.store.request_log()  # type: ignore[attr-defined]
    assert len(log) <= 5 + 2 + 2
    assert all(r.method == "GET" for r in log)


def test_unresolvable_name_is_located(workspace: Path, cli: Run) -> None:
    path = workspace / "manifests" / "summer-streak.yaml"
    path.write_text(path.read_text().replace('target: "Weekly Shopper"', 'target: "Weekly Shoper"'))
    code, _, err = cli("plan")
    assert code == 1
    assert err.splitlines()[0] == (
        "error: manifests/summer-streak.yaml:12:11: target 'Weekly Shoper' does not exist in "
        "target group 2170 (Summer Streak); did you mean 'Weekly Shopper'?"
    )


def test_step_summary_is_appended(
    workspace: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = workspace / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert cli("plan")[0] == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "<details>" in text


def test_saved_plan_is_the_json_document(workspace: Path, cli: Run) -> None:
    code, _, _ = cli("plan", "--out", "plan.json")
    assert code == 0
    document = json.loads((workspace / "plan.json").read_text())
    assert document["formatVersion"] == 1
    assert all(len(t["fingerprint"]) == 64 for t in document["targets"])
