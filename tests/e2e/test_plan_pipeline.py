"""Planning as a pipeline (issue 9): one file's targets are read while other files' names are
still being resolved, yet every manifest is validated before anything is sent, and problems are
reported as if the files had been checked one after another (SPEC §3 validation, §4)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Run

BROKEN = "apiVersion: reconciler/v1\nkind: TargetCommunications\nmetadata: {name: [oops\n"


def test_a_broken_last_file_fails_plan_and_apply_with_its_problems_only(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    manifests = workspace / "manifests"
    streak = manifests / "summer-streak.yaml"
    # An unresolvable name in an early file, a syntax error in the last one: validation
    # problems are reported, not the name (it is only resolved once all files are valid).
    streak.write_text(streak.read_text().replace('"Weekly Shopper"', '"Weekly Shoper"'))
    (manifests / "zz-broken.yaml").write_text(BROKEN)
    for argv in (("plan",), ("apply", "--auto-approve")):
        code, out, err = cli(*argv)
        assert code == 1, argv
        lines = err.splitlines()
        assert lines == [
            "error: manifests/zz-broken.yaml:4:1: YAML syntax error: did not find expected ',' or ']'"
        ]
        assert "Weekly Shoper" not in out + err
        assert "Traceback" not in err
    assert sandbox.store.request_log() == []  # type: ignore[attr-defined]


def test_every_file_contributes_to_the_plan(workspace: Path, cli: Run) -> None:
    manifests = workspace / "manifests"
    (manifests / "nested").mkdir()
    streak = manifests / "summer-streak.yaml"
    text = streak.read_text().replace("templates/", "../templates/")
    (manifests / "nested" / "a-summer-streak.yaml").write_text(text)
    streak.unlink()
    document = json.loads(cli("plan", "--format", "json")[1])
    sources = {t["manifest"] for t in document["targets"]}
    assert sources == {
        "manifests/nested/a-summer-streak.yaml",
        "manifests/spring-sprint.yaml",
    }
    assert len(document["targets"]) == 5


def test_a_target_declared_by_id_and_by_name_in_two_files_names_the_first_in_load_order(
    workspace: Path, cli: Run
) -> None:
    # 'aa-…' sorts before 'summer-streak.yaml', which names the same target ("Weekly Shopper"
    # is 2401 in group 2170): the later declaration is the one reported, whichever group list
    # arrived first.
    (workspace / "manifests" / "aa-weekly.yaml").write_text(
        "apiVersion: reconciler/v1\n"
        "kind: TargetCommunications\n"
        "metadata: {name: weekly-by-id}\n"
        "target: {targetGroup: 2170, target: 2401}\n"
        "communications:\n"
        "  - {communicationType: START, channel: SMS, sender: NW, messageTemplate: hi}\n"
    )
    for _ in range(3):
        code, _, err = cli("plan")
        assert code == 1
        assert err.splitlines()[0] == (
            "error: manifests/summer-streak.yaml:11:3: target 2401 of group 2170 is already "
            "declared by 'weekly-by-id' at manifests/aa-weekly.yaml:4:9"
        )


def test_an_unknown_group_id_is_reported_at_its_position(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    """Only groups the group list confirms have their targets listed."""
    (workspace / "manifests" / "aa-ghost.yaml").write_text(
        "apiVersion: reconciler/v1\n"
        "kind: TargetCommunications\n"
        "metadata: {name: ghost}\n"
        "target: {targetGroup: 999999, target: 1}\n"
        "communications:\n"
        "  - {communicationType: START, channel: SMS, sender: NW, messageTemplate: hi}\n"
    )
    code, _, err = cli("plan")
    assert code == 1
    assert err.splitlines() == [
        "error: manifests/aa-ghost.yaml:4:23: target group 999999 does not exist"
    ]
    paths = [r.path for r in sandbox.store.request_log()]  # type: ignore[attr-defined]
    assert "/v3/targetGroups/999999/targets" not in paths
