"""Planning as a pipeline (issue 9): one file's targets are read while other files' names are
still being resolved, yet every manifest is validated before anything is sent, and problems are
reported as if the files had been checked one after another (SPEC §3 validation, §4)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Run, write_config
from tests.support.servers import Answer, Proxy, Seen

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


def _doc(name: str, group: int, target: int | str) -> str:
    return (
        "apiVersion: reconciler/v1\n"
        "kind: TargetCommunications\n"
        f"metadata: {{name: {name}}}\n"
        f"target: {{targetGroup: {group}, target: {json.dumps(target)}}}\n"
        "communications:\n"
        "  - {communicationType: START, channel: SMS, sender: NW, messageTemplate: hi}\n"
    )


def _slow(path: str, seconds: float) -> Callable[[Seen, int], Answer | None]:
    def rule(seen: Seen, n: int) -> Answer | None:
        if seen.path == path:
            time.sleep(seconds)
        return None  # forwarded to the sandbox

    return rule


def test_a_duplicate_declaration_names_the_first_in_load_order_whichever_file_resolves_first(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    """'aa-first.yaml' waits for the slow target list of group 2163, so 'bb-second.yaml'
    resolves first; the declaration reported is still the later one in load order."""
    manifests = workspace / "manifests"
    for path in manifests.glob("*.yaml"):
        path.unlink()
    (manifests / "aa-first.yaml").write_text(
        _doc("in-2163", 2163, 2317) + "---\n" + _doc("weekly-by-id", 2170, 2401)
    )
    (manifests / "bb-second.yaml").write_text(_doc("weekly-by-name", 2170, "Weekly Shopper"))
    url = sandbox.url  # type: ignore[attr-defined]
    with Proxy(url, _slow("/v3/targetGroups/2163/targets", 0.4)) as api:
        write_config(workspace, api.url)
        code, _, err = cli("plan")
    assert code == 1
    assert err.splitlines() == [
        "error: manifests/bb-second.yaml:4:9: target 2401 of group 2170 is already declared by "
        "'weekly-by-id' at manifests/aa-first.yaml:11:9"
    ]


def test_a_failed_target_list_is_reported_even_while_another_file_waits_for_a_shared_one(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    """'aa-both.yaml' needs groups 2163 and 2170, 'bb-2170.yaml' only 2170 (a list both batches
    share, and slow). 2163's list fails: that failure is the error, not a cancelled wait."""
    manifests = workspace / "manifests"
    for path in manifests.glob("*.yaml"):
        path.unlink()
    (manifests / "aa-both.yaml").write_text(
        _doc("in-2163", 2163, 2317) + "---\n" + _doc("in-2170", 2170, 2401)
    )
    (manifests / "bb-2170.yaml").write_text(_doc("also-2170", 2170, 2402))
    slow = _slow("/v3/targetGroups/2170/targets", 0.4)

    def rule(seen: Seen, n: int) -> Answer | None:
        if seen.path == "/v3/targetGroups/2163/targets":
            body = b'{"data": null, "errors": [{"code": 400, "message": "refused"}]}'
            return Answer(400, body, {"Content-Type": "application/json"})
        return slow(seen, n)

    with Proxy(sandbox.url, rule) as api:  # type: ignore[attr-defined]
        write_config(workspace, api.url)
        code, _, err = cli("plan")
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: GET /v3/targetGroups/2163/targets"), lines
    assert "HTTP 400" in lines[0]
    assert "refused" in lines[0]


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
