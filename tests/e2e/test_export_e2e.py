"""`export` round trips: the first plan after an export shows no change (issue 7), except that
live duplicates of an exported key are deactivated (issue 14 item 7: a declared key keeps exactly
one active communication, whatever ``prune`` says; the demo's 2402 has one such duplicate)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from ruamel.yaml import YAML

from tests.support.cli import Run


def _no_change_but_duplicates(out: str) -> None:
    """The plan changes nothing but deactivating the demo's live duplicate (id 5131)."""
    changes = [
        line.strip() for line in out.splitlines() if line.startswith(("  + ", "  ~ ", "  - "))
    ]
    assert changes == ["- deactivate START on EMAIL (channelId 2), id 5131 — live duplicate"], out
    assert "Plan: 0 to create, 0 to update, 1 to deactivate," in out


def _fresh(workspace: Path) -> None:
    shutil.rmtree(workspace / "manifests")


def test_export_all_then_plan_shows_no_changes(workspace: Path, cli: Run) -> None:
    _fresh(workspace)
    code, out, err = cli("export", "--all", "--out-dir", "exported")
    assert code == 0, err
    assert "exported" in out
    assert cli("validate", "exported")[0] == 0
    code, out, err = cli("plan", "exported")
    assert code == 0, err
    _no_change_but_duplicates(out)


def test_export_by_name_validates_and_plans_to_no_changes(workspace: Path, cli: Run) -> None:
    _fresh(workspace)
    assert cli("export", "--all", "--by-name", "--out-dir", "exported")[0] == 0
    text = "".join(p.read_text() for p in sorted((workspace / "exported").rglob("*.yaml")))
    assert "targetGroup: Spring Sprint 2026" in text
    assert "channel: EMAIL" in text
    code, out, err = cli("plan", "exported")
    assert code == 0, err
    _no_change_but_duplicates(out)


def test_export_twice_is_byte_identical(workspace: Path, cli: Run) -> None:
    _fresh(workspace)  # the demo manifests would declare the exported targets twice
    assert cli("export", "--all", "--out-dir", "a")[0] == 0
    assert cli("export", "--all", "--out-dir", "b")[0] == 0
    first = {
        p.relative_to(workspace / "a"): p.read_bytes() for p in (workspace / "a").rglob("*.yaml")
    }
    second = {
        p.relative_to(workspace / "b"): p.read_bytes() for p in (workspace / "b").rglob("*.yaml")
    }
    assert first == second
    assert first


def test_export_never_overwrites_without_force(workspace: Path, cli: Run) -> None:
    _fresh(workspace)  # the demo manifests would declare the exported targets twice
    assert cli("export", "--all", "--out-dir", "exported")[0] == 0
    files = sorted((workspace / "exported").rglob("*.yaml"))
    before = {p: p.read_bytes() for p in files}
    code, _, err = cli("export", "--all", "--out-dir", "exported")
    assert code == 1
    assert "--force" in err
    assert {p: p.read_bytes() for p in files} == before


def test_force_keeps_comments_that_still_apply(workspace: Path, cli: Run, sandbox: object) -> None:
    _fresh(workspace)  # the demo manifests would declare the exported targets twice
    assert cli("export", "--target-group", "2170", "--out-dir", "exported")[0] == 0
    path = next((workspace / "exported").rglob("weekly-shopper-*.yaml"))
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if "communicationType: START" in line)
    lines.insert(index, "  # START goes out when the streak opens")
    lines.insert(0, "# owned by the CRM team")
    path.write_text("\n".join(lines) + "\n")
    store = sandbox.store  # type: ignore[attr-defined]
    live = [c for c in store.communications(2170, 2401) if c["communicationType"] == "CHANGE"]
    store.edit_communication(live[0]["id"], message_template="Changed in the UI")
    assert cli("export", "--target-group", "2170", "--out-dir", "exported", "--force")[0] == 0
    text = path.read_text()
    assert "# owned by the CRM team" in text
    assert "# START goes out when the streak opens" in text
    assert "Changed in the UI" in text
    code, out, _ = cli("plan", "exported")
    assert code == 0
    _no_change_but_duplicates(out)


def test_exporting_a_missing_group_writes_nothing(workspace: Path, cli: Run) -> None:
    code, _, err = cli("export", "--target-group", "Autumn Nope", "--out-dir", "exported")
    assert code == 1
    assert "target group 'Autumn Nope' does not exist" in err
    assert not (workspace / "exported").exists()


def test_force_keeps_variable_references_that_still_mean_the_live_value(
    workspace: Path, cli: Run
) -> None:
    _fresh(workspace)  # the demo manifests would declare the exported targets twice
    assert cli("export", "--target-group", "2163", "--out-dir", "exported")[0] == 0
    path = next((workspace / "exported").rglob("spend-500-in-april-*.yaml"))
    path.write_text(
        path.read_text().replace("sender: loyalty@northwind.example", "sender: ${sender}")
    )
    assert cli("export", "--target-group", "2163", "--out-dir", "exported", "--force")[0] == 0
    assert "sender: ${sender}" in path.read_text()
    code, out, _ = cli("plan", "exported")
    assert code == 0
    assert out.strip().endswith("No changes. Live state matches the manifests.")


def _use_template_file(path: Path, index: int, name: str) -> tuple[str, object]:
    """Move entry ``index``'s messageTemplate into the file ``name`` next to the manifest."""
    yaml = YAML(typ="rt")
    document = yaml.load(path.read_text())
    entry = document["communications"][index]
    (path.parent / name).write_text(entry["messageTemplate"])
    del entry["messageTemplate"]
    entry["messageTemplateFile"] = name
    stream = io.StringIO()
    yaml.dump(document, stream)
    path.write_text(stream.getvalue())
    return str(entry["communicationType"]), entry.get("channel", entry.get("channelId"))


def test_force_keeps_a_template_file_whose_content_is_still_live(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    _fresh(workspace)  # the demo manifests would declare the exported targets twice
    assert cli("export", "--target-group", "2170", "--out-dir", "exported")[0] == 0
    path = next((workspace / "exported").rglob("weekly-shopper-*.yaml"))
    kind, _ = _use_template_file(path, 0, "first.txt")
    assert kind != "CHANGE"
    store = sandbox.store  # type: ignore[attr-defined]
    live = [c for c in store.communications(2170, 2401) if c["communicationType"] == "CHANGE"]
    store.edit_communication(live[0]["id"], message_template="Changed in the UI")
    assert cli("export", "--target-group", "2170", "--out-dir", "exported", "--force")[0] == 0
    text = path.read_text()
    assert "messageTemplateFile: first.txt" in text
    assert "Changed in the UI" in text
    code, out, _ = cli("plan", "exported")
    assert code == 0
    _no_change_but_duplicates(out)


def test_force_writes_a_changed_template_inline_and_leaves_the_file_alone(
    workspace: Path, cli: Run, sandbox: object
) -> None:
    _fresh(workspace)  # the demo manifests would declare the exported targets twice
    assert cli("export", "--target-group", "2170", "--out-dir", "exported")[0] == 0
    path = next((workspace / "exported").rglob("weekly-shopper-*.yaml"))
    kind, channel = _use_template_file(path, 0, "first.txt")
    before = (path.parent / "first.txt").read_text()
    store = sandbox.store  # type: ignore[attr-defined]
    channel_id = (
        channel
        if isinstance(channel, int)
        else {c["name"]: c["id"] for c in store.channels()}[channel]
    )
    live = [
        c
        for c in store.communications(2170, 2401)
        if (c["communicationType"], c["channelId"]) == (kind, channel_id)
    ]
    store.edit_communication(live[0]["id"], message_template="Rewritten in the UI")
    assert cli("export", "--target-group", "2170", "--out-dir", "exported", "--force")[0] == 0
    text = path.read_text()
    assert "messageTemplateFile" not in text
    assert "Rewritten in the UI" in text
    assert (path.parent / "first.txt").read_text() == before  # it may be shared: not rewritten
    code, out, _ = cli("plan", "exported")
    assert code == 0
    _no_change_but_duplicates(out)


# --- a target the manifests already declare (issue 20 item 2) ------------------------------


def test_export_refuses_a_target_declared_in_another_file_naming_both(
    workspace: Path, cli: Run
) -> None:
    """The demo manifests declare groups 2163 and 2170: exporting them anywhere else would
    declare their targets twice and break the next plan."""
    code, out, err = cli("export", "--target-group", "2163", "--out-dir", "imported")
    assert code == 1
    assert not (workspace / "imported").exists()  # nothing written
    lines = err.splitlines()
    assert len(lines) == 2  # one per target of group 2163 that the demo declares
    first = next(line for line in lines if "target 2317 " in line)
    assert first.startswith("error: manifests/spring-sprint.yaml:")
    assert "is already declared here; export would declare it again in imported/" in first
    assert "exported" not in out


def test_export_refuses_when_a_manifest_it_must_check_has_a_problem(
    workspace: Path, cli: Run
) -> None:
    """Found in review: a manifest with a problem (here an unknown variable) was left out of
    the check, so export declared its target a second time and said it had exported."""
    demo = workspace / "manifests" / "spring-sprint.yaml"
    text = demo.read_text().replace("${sender}", "${no_such_var}")
    demo.write_text(text.replace("NWREWARDS", "${no_such_var}"))  # in both documents
    code, out, err = cli("export", "--target-group", "2163", "--out-dir", "imported")
    assert code == 1
    assert not (workspace / "imported").exists()  # nothing written
    assert "unknown variable '${no_such_var}'" in err
    assert "export cannot check that no manifest declares what it would write" in err
    assert "exported" not in out


def test_export_by_name_refuses_too_and_an_undeclared_group_exports(
    workspace: Path, cli: Run
) -> None:
    code, _, err = cli("export", "--target-group", "Summer Streak", "--out-dir", "x", "--by-name")
    assert code == 1
    assert "manifests/summer-streak.yaml:" in err
    # Group 2185 is declared by no manifest: it exports, into the manifests directory by default.
    code, out, err = cli("export", "--target-group", "2185")
    assert code == 0, err
    assert "exported 1 manifest to manifests" in out
    assert list((workspace / "manifests").glob("anniversary-club-2185/*.yaml"))
