"""Git-aware plans over real HTTP (issue 18): `--changed-since` reads only what a pull request
changes, deleted documents release their targets, and every change says whose it is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import SandboxServer
from reconciler.sandbox.faults import Fault
from reconciler.sandbox.seed import EMAIL
from tests.support import ROOT
from tests.support.cli import PASSWORD, USERNAME, Run, write_config
from tests.support.contracts import write_contract
from tests.support.gitrepo import (
    SHARED,
    commit,
    init,
    pr_config,
    pr_repository,
    promo_text,
    shallow_clone,
)
from tests.support.sandbox import reads_of_communications, writes

JANE = {"id": 7, "code": "jdoe", "description": "Marketing", "name": "Jane Doe"}


# --- acceptance 1: a pull request of 3 targets in a repository of 1,000 ------------------------


@pytest.fixture
def pr_repo(
    tmp_path: Path, sandbox_db: Path, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, SandboxServer, list[int], str]:
    """1,000 targets in 10 groups, committed as main; then the pull request's change: the
    shared template file (two targets) and the ``promo`` value (one target)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    changed = pr_repository(repo, sandbox_db)
    server = sandbox_factory()
    pr_config(repo, server.url, "double points")
    init(repo)
    base = commit(repo, "base")
    (repo / SHARED[0]).write_text("Hi {{first_name}}, the shared offer, now doubled.\n")
    pr_config(repo, server.url, "triple points")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CAPILLARY_USERNAME", "demo")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "demo-password")
    return repo, server, changed, base


def _changes(document: dict[str, Any], targets: list[int]) -> dict[int, list[Any]]:
    return {
        t["targetId"]: [
            {k: v for k, v in c.items() if k != "origin"}
            for c in t["changes"]
            if c["action"] != "noop"
        ]
        for t in document["targets"]
        if t["targetId"] in targets
    }


def test_a_pr_plan_reads_only_its_3_targets_in_3_plus_g_plus_2_requests(
    pr_repo: tuple[Path, SandboxServer, list[int], str], cli: Run
) -> None:
    _repo, server, changed, base = pr_repo
    server.store.clear_request_log()
    code, out, err = cli("plan", "--changed-since", base, "--format", "json")
    assert code == 0, err
    log = server.store.request_log()
    document = json.loads(out)
    assert sorted(t["targetId"] for t in document["targets"]) == sorted(changed)
    groups = {t["targetGroupId"] for t in document["targets"]}
    assert len(log) == 3 + len(groups) + 2, [r.path for r in log]
    assert all(r.method == "GET" for r in log)
    assert {r.path.split("/")[5] for r in reads_of_communications(log)} == {str(t) for t in changed}
    assert document["base"]["changedDocuments"] == 3
    assert document["base"]["documents"] == 1000
    assert document["base"]["full"] is None
    # Each of the three changes its START email only, and that is this change's.
    for target in document["targets"]:
        (change,) = [c for c in target["changes"] if c["action"] != "noop"]
        assert change["fields"] == ["messageTemplate"]
        assert change["origin"] == {"messageTemplate": "change"}
    promoted = next(t for t in document["targets"] if t["targetId"] == changed[2])
    written = next(c for c in promoted["changes"] if c["action"] == "update")["after"]
    assert written["messageTemplate"] == promo_text("triple points")

    server.store.clear_request_log()
    code, out, err = cli("plan", "--format", "json")
    assert code == 0, err
    full = json.loads(out)
    assert len(reads_of_communications(server.store.request_log())) == 1000
    assert _changes(full, changed) == _changes(document, changed)
    assert sum(1 for t in full["targets"] for c in t["changes"] if c["action"] != "noop") == 3


def test_the_pr_plan_says_how_much_it_planned(
    pr_repo: tuple[Path, SandboxServer, list[int], str], cli: Run
) -> None:
    _, _, _, base = pr_repo
    code, out, err = cli("plan", "--changed-since", base)
    assert code == 0, err
    assert out.startswith(f"Changed since {base} ({base[:12]}): 3 of 1000 documents planned;")
    assert "3 to update, 0 to deactivate, 9 unchanged across 3 targets." in out


def test_shards_split_the_changed_targets(
    pr_repo: tuple[Path, SandboxServer, list[int], str], cli: Run
) -> None:
    _, server, changed, base = pr_repo
    seen: list[int] = []
    for shard in ("1/2", "2/2"):
        server.store.clear_request_log()
        code, out, err = cli("plan", "--changed-since", base, "--shard", shard, "--format", "json")
        assert code == 0, err
        ids = [t["targetId"] for t in json.loads(out)["targets"]]
        assert len(reads_of_communications(server.store.request_log())) == len(ids)
        seen += ids
    assert sorted(seen) == sorted(changed)


def test_a_config_change_outside_vars_is_a_full_plan_that_says_so(
    pr_repo: tuple[Path, SandboxServer, list[int], str], cli: Run
) -> None:
    repo, server, _, base = pr_repo
    pr_config(repo, server.url, "triple points", maxDeactivatePercent=30)
    server.store.clear_request_log()
    code, out, err = cli("plan", "--changed-since", base)
    assert code == 0, err
    assert out.startswith(
        f"Full plan: reconciler.yaml changed since {base} outside vars "
        "(environments.test.maxDeactivatePercent); every document was planned."
    )
    assert len(reads_of_communications(server.store.request_log())) == 1000


def test_apply_changed_since_writes_only_the_changed_targets(
    pr_repo: tuple[Path, SandboxServer, list[int], str], cli: Run
) -> None:
    _, server, changed, base = pr_repo
    server.store.clear_request_log()
    code, _, err = cli("apply", "--changed-since", base, "--auto-approve")
    assert code == 0, err
    log = server.store.request_log()
    assert sorted(int(r.path.split("/")[5]) for r in writes(log)) == sorted(changed)
    # the canary's extra read aside, only the three targets are read
    assert {r.path.split("/")[5] for r in reads_of_communications(log)} == {str(t) for t in changed}


# --- acceptance 2 (end to end), 3 and 4 on the demo repository ---------------------------------


@pytest.fixture
def demo(workspace: Path, cli: Run, sandbox: SandboxServer) -> tuple[Path, SandboxServer, str]:
    """The demo repository, applied (live matches it), committed as main."""
    assert cli("apply", "--auto-approve")[0] == 0
    init(workspace)
    return workspace, sandbox, commit(workspace, "base")


def _start_email(server: SandboxServer) -> dict[str, Any]:
    rows = server.store.communications(2163, 2317)
    return next(
        r
        for r in rows
        if r["communicationType"] == "START" and r["channelId"] == EMAIL and r["active"]
    )


def _edit_manifest(repo: Path, old: str, new: str) -> None:
    path = repo / "manifests" / "spring-sprint.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_pr_comment_warns_that_merging_overwrites_a_named_users_ui_edit(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    repo, server, base = demo
    row = _start_email(server)
    server.store.edit_communication(row["id"], subject_template="Edited in the UI", actor=JANE)
    _edit_manifest(repo, "Spend 500 before", "Spend 500 by")  # the PR: another field
    code, out, err = cli("plan", "--changed-since", base, "--format", "markdown")
    assert code == 0, err
    warning = out.index("> [!WARNING]")
    assert warning < out.index("| to create")  # first, before the table and the diffs
    section = out[warning : out.index("\n\n", warning)]
    assert "Merging overwrites live edits:" in section
    assert "1 live edit and 0 conflicts" in section
    assert "subjectTemplate" in section
    assert "merging overwrites it" in section
    assert "Jane Doe (jdoe)" in section.replace("&#40;", "(").replace("&#41;", ")")
    assert "# this change" in out  # the message's diff line
    code, text, _ = cli("plan", "--changed-since", base)
    assert "subjectTemplate:" in text
    assert "(overwrites a live edit (last updated by Jane Doe (jdoe) on " in text
    document = json.loads(cli("plan", "--changed-since", base, "--format", "json")[1])
    (change,) = [c for t in document["targets"] for c in t["changes"] if c["action"] == "update"]
    assert change["origin"] == {"messageTemplate": "change", "subjectTemplate": "live-edit"}


def test_fail_on_conflict_exits_1_on_a_field_changed_in_both_places(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    repo, server, base = demo
    row = _start_email(server)
    server.store.edit_communication(row["id"], subject_template="Edited in the UI", actor=JANE)
    old = row["subjectTemplate"]
    _edit_manifest(repo, json.dumps(old)[1:-1], "Changed in the PR")
    code, out, err = cli("plan", "--changed-since", base, "--format", "json")
    assert code == 0, err
    origins = [c.get("origin") for t in json.loads(out)["targets"] for c in t["changes"]]
    assert {"subjectTemplate": "conflict"} in origins
    code, out, err = cli("plan", "--changed-since", base, "--fail-on-conflict")
    assert code == 1
    assert err.count("error: ") == 1
    assert "1 conflict between this change and a live edit" in err
    assert "(conflict: this change and a live edit differ (last updated by Jane Doe" in out


def test_a_full_plan_with_base_labels_every_change(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    _repo, server, base = demo
    row = _start_email(server)
    server.store.edit_communication(row["id"], subject_template="Edited in the UI", actor=JANE)
    server.store.clear_request_log()
    code, out, err = cli("plan", "--base", base, "--format", "json")
    assert code == 0, err
    assert len(reads_of_communications(server.store.request_log())) == 5  # every target
    document = json.loads(out)
    assert document["base"]["changedSince"] is False
    (change,) = [c for t in document["targets"] for c in t["changes"] if c["action"] != "noop"]
    assert change["origin"] == {"subjectTemplate": "live-edit"}


def test_drift_labels_each_drifted_field_a_live_edit_against_head(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    _, server, _ = demo
    row = _start_email(server)
    server.store.edit_communication(row["id"], subject_template="Edited in the UI", actor=JANE)
    code, out, _ = cli("drift", "--base", "HEAD")
    assert code == 2
    assert "(live edit (last updated by Jane Doe (jdoe) on " in out


def test_a_deleted_document_is_no_longer_managed_and_nothing_is_written(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    repo, server, base = demo
    active = {
        t: sum(1 for r in server.store.communications(2170, t) if r["active"]) for t in (2401, 2402)
    }
    assert all(active.values())
    (repo / "manifests" / "summer-streak.yaml").unlink()
    server.store.clear_request_log()
    code, out, err = cli("plan", "--changed-since", base)
    assert code == 0, err
    assert (
        f"2 targets no longer managed (document deleted since {base}); nothing is written:" in out
    )
    for target, name in (
        (2401, "summer-streak-weekly-shopper"),
        (2402, "summer-streak-brunch-club"),
    ):
        assert (
            f"  - {name} (2170/{target}) (manifests/summer-streak.yaml): no longer managed: its "
            f"{active[target]} active communications stay live; to remove them keep the "
            "document with `communications: []`"
        ) in out
    assert out.rstrip().endswith("No changes. Live state matches the manifests.")
    assert len(reads_of_communications(server.store.request_log())) == 2
    code, out, err = cli("apply", "--changed-since", base, "--auto-approve")
    assert code == 0, err
    assert writes(server.store.request_log()) == []
    for target, count in active.items():
        assert sum(1 for r in server.store.communications(2170, target) if r["active"]) == count


def test_a_document_moved_to_another_target_is_one_released_and_one_new(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    repo, _, base = demo
    _edit_manifest(
        repo, "  targetGroup: 2163\n  target: 2319", "  targetGroup: 2185\n  target: 2501"
    )
    code, out, err = cli("plan", "--changed-since", base, "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert [(t["targetGroupId"], t["targetId"]) for t in document["released"]] == [(2163, 2319)]
    assert [(t["targetGroupId"], t["targetId"]) for t in document["targets"]] == [(2185, 2501)]
    assert document["base"]["changedDocuments"] == 1


@pytest.mark.parametrize("case", ["unknown ref", "shallow clone", "not a git repository"])
def test_a_base_that_cannot_be_read_is_one_error_and_no_request(
    workspace: Path,
    sandbox: SandboxServer,
    cli: Run,
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = "main"
    if case == "unknown ref":
        init(workspace)
        commit(workspace)
        ref = "no-such-branch"
    elif case == "shallow clone":
        init(workspace)
        ref = commit(workspace, "first")
        commit(workspace, "second")
        clone = tmp_path / "clone"
        shallow_clone(workspace, clone)
        (clone / "reconciler.yaml").write_text((workspace / "reconciler.yaml").read_text())
        ref = ref[:12]
        monkeypatch.chdir(clone)
    sandbox.store.clear_request_log()
    code, out, err = cli("plan", "--changed-since", ref)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    expected = {
        "unknown ref": "unknown git ref 'no-such-branch'",
        "shallow clone": "is not in this shallow clone; fetch the history (in GitHub Actions, "
        "actions/checkout with fetch-depth: 0",
        "not a git repository": "is not in a git repository",
    }[case]
    assert expected in lines[0]
    assert "fetch-depth: 0" in lines[0]
    assert sandbox.store.request_log() == []


def test_a_ref_that_is_a_url_with_credentials_does_not_show_them(
    workspace: Path, sandbox: SandboxServer, cli: Run
) -> None:
    init(workspace)
    commit(workspace)
    sandbox.store.clear_request_log()
    code, out, err = cli("plan", "--changed-since", "https://bob:hunter2secret@example.com/x.git")
    assert code == 1
    assert err.startswith("error: unknown git ref 'https://bob:***@example.com/x.git'"), err
    assert "hunter2" not in out + err
    assert sandbox.store.request_log() == []


def test_a_document_moved_to_a_file_outside_the_given_paths_is_not_released(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    repo, server, base = demo
    path = repo / "manifests" / "summer-streak.yaml"
    shopper, brunch = path.read_text().split("\n---\n")
    path.write_text(shopper)
    (repo / "manifests" / "brunch.yaml").write_text(brunch)
    server.store.clear_request_log()
    code, out, err = cli(
        "plan", "manifests/summer-streak.yaml", "--changed-since", base, "--format", "json"
    )
    assert code == 0, err
    document = json.loads(out)
    assert "released" not in document  # brunch-club is still declared, in brunch.yaml
    assert document["targets"] == []
    assert reads_of_communications(server.store.request_log()) == []
    # a document really deleted is still released when paths are given
    (repo / "manifests" / "brunch.yaml").unlink()
    code, out, err = cli(
        "plan", "manifests/summer-streak.yaml", "--changed-since", base, "--format", "json"
    )
    assert code == 0, err
    released = json.loads(out)["released"]
    assert [(t["targetGroupId"], t["targetId"]) for t in released] == [(2170, 2402)]


def test_a_change_to_a_text_the_server_stored_normalised_is_this_change_not_a_conflict(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    repo, server, base = demo
    row = _start_email(server)  # a server that removes trailing whitespace stored it so
    server.store.edit_communication(row["id"], message_template=row["messageTemplate"].rstrip())
    assert cli("plan", "--base", base, "--detailed-exitcode")[0] == 0  # unchanged, as planned
    _edit_manifest(repo, "Spend 500 before", "Spend 500 by")
    code, out, err = cli("plan", "--changed-since", base, "--fail-on-conflict", "--format", "json")
    assert code == 0, err
    (change,) = [
        c for t in json.loads(out)["targets"] for c in t["changes"] if c["action"] != "noop"
    ]
    assert change["origin"] == {"messageTemplate": "change"}


def test_a_file_that_did_not_load_at_the_base_says_so_and_labels_nothing(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    repo, server, _ = demo
    path = repo / "manifests" / "spring-sprint.yaml"
    good = path.read_text()
    path.write_text(good.replace("offsetDays: 3", "offsetDays: three", 1))
    assert "offsetDays: three" in path.read_text()
    broken = commit(repo, "a base whose file does not load")
    path.write_text(good)  # the pull request repairs it
    row = _start_email(server)
    server.store.edit_communication(row["id"], subject_template="Edited in the UI", actor=JANE)
    code, out, err = cli("plan", "--changed-since", broken, "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert (
        f"manifests/spring-sprint.yaml did not load at {broken}: its documents are planned as "
        "changed, and their changes carry no origin"
    ) in document["warnings"][0]
    (change,) = [c for t in document["targets"] for c in t["changes"] if c["action"] != "noop"]
    assert change["fields"] == ["subjectTemplate"]
    assert "origin" not in change  # not "change": the UI edit is not this pull request's


def test_a_released_target_refused_with_403_is_a_note_not_a_failed_plan(
    tmp_path: Path, sandbox_factory: Any, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    brunch = "/v3/targetGroups/2170/targets/2402/communications"
    server = sandbox_factory(path_faults={brunch: Fault.FORBIDDEN})
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    write_config(repo, server.url)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    init(repo)
    base = commit(repo)
    (repo / "manifests" / "summer-streak.yaml").unlink()  # its targets are no longer managed
    code, out, err = cli("plan", "--changed-since", base, "--format", "json")
    assert code == 0, err
    released = {t["targetId"]: t for t in json.loads(out)["released"]}
    assert released[2401]["readable"] is True
    assert released[2402]["readable"] is False
    assert "HTTP 403" in released[2402]["error"]
    assert writes(server.store.request_log()) == []


def test_a_changed_contract_file_is_a_full_plan_that_says_so(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    repo, server, base = demo
    write_contract(repo, {"upsert": "replace"}, endpoint=server.url)  # probed again, differently
    server.store.clear_request_log()
    code, out, err = cli("plan", "--changed-since", base)
    assert code == 0, err
    assert out.startswith(
        f"Full plan: .reconciler/contract-test.json changed since {base}; every document was "
        "planned."
    ), out
    assert len(reads_of_communications(server.store.request_log())) == 5
    commit(repo, "the new contract")
    code, out, err = cli("plan", "--changed-since", "HEAD")
    assert code == 0, err
    assert out.startswith("Changed since HEAD"), out
    assert "0 of 5 documents planned" in out


def test_a_new_document_for_a_target_an_unchanged_one_declares_fails_as_a_full_plan_does(
    demo: tuple[Path, SandboxServer, str], cli: Run
) -> None:
    """`target: 2318` and spring-sprint's `target: "Five Store Visits"` are one target: the
    full plan refuses it, so must the pull request's plan (its apply would deactivate the
    other document's communications)."""
    repo, server, base = demo
    (repo / "manifests" / "again.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: TargetCommunications\nmetadata: {name: again}\n"
        "target: {targetGroup: 2163, target: 2318}\ncommunications: []\n"
    )
    full = cli("plan")
    assert full[0] == 1
    assert "target 2318 of group 2163 is already declared by" in full[2]
    server.store.clear_request_log()
    for argv in (("plan",), ("apply", "--auto-approve")):
        code, out, err = cli(*argv, "--changed-since", base)
        assert code == 1, (argv, out)
        assert err.count("error: ") == 1
        assert "target 2318 of group 2163 is already declared by" in err
    assert writes(server.store.request_log()) == []
