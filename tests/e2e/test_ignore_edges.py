"""``ignore:`` rules at their edges (issue 19), against a real sandbox over HTTP: an ignored
``active`` on a row switched off in the UI still lets git own the other fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import PASSWORD, USERNAME, Run, write_config
from tests.support.sandbox import writes

GROUP, TARGET, START_ID = 2163, 2317, 5101
MANIFEST = Path("manifests/spend.yaml")


def _manifest(template: str, rule: str = "") -> str:
    return (
        "apiVersion: reconciler/v1\n"
        "kind: TargetCommunications\n"
        "metadata: {name: spend-500}\n"
        f"target: {{targetGroup: {GROUP}, target: {TARGET}}}\n"
        "prune: false\n"
        "communications:\n"
        "  - communicationType: START\n"
        "    channelId: 2\n"
        "    sender: loyalty@northwind.example\n"
        '    subjectTemplate: "Welcome"\n'
        f'    messageTemplate: "{template}"\n'
        f"{rule}"
    )


@pytest.fixture
def repo(tmp_path: Path, sandbox: object, monkeypatch: pytest.MonkeyPatch, cli: Run) -> Path:
    repo = tmp_path / "repo"
    (repo / MANIFEST).parent.mkdir(parents=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    write_config(repo, sandbox.url)  # type: ignore[attr-defined]
    (repo / MANIFEST).write_text(_manifest("first wording"))
    code, _, err = cli("apply", "--auto-approve")
    assert code == 0, err
    return repo


def _start(sandbox: object) -> dict[str, object]:
    rows = sandbox.store.communications(GROUP, TARGET)  # type: ignore[attr-defined]
    return next(r for r in rows if r["id"] == START_ID)


def test_an_ignored_active_on_a_row_switched_off_live_still_updates_git_fields(
    repo: Path, cli: Run, sandbox: object
) -> None:
    store = sandbox.store  # type: ignore[attr-defined]
    store.edit_communication(START_ID, active=False)  # marketing pauses it in the UI
    (repo / MANIFEST).write_text(_manifest("second wording", "    ignore: [active]\n"))
    document = json.loads(cli("plan", "--format", "json")[1])
    (target,) = document["targets"]
    (change,) = [c for c in target["changes"] if c["id"] == START_ID]
    assert change["action"] == "update"
    assert change["fields"] == ["messageTemplate"]
    assert change["after"]["active"] is False
    assert change["reason"] is None  # not a re-activation
    store.clear_request_log()
    code, out, err = cli("apply", "--auto-approve")
    assert code == 0, (out, err)
    assert len(writes(store.request_log())) == 1
    row = _start(sandbox)
    assert row["messageTemplate"] == "second wording"
    assert row["active"] is False  # the UI's switch stays
    assert cli("plan", "--detailed-exitcode")[0] == 0


def test_a_saved_plan_writes_what_its_reviewer_saw_whichever_way_the_rule_changed_since(
    repo: Path, cli: Run, sandbox: object
) -> None:
    store = sandbox.store  # type: ignore[attr-defined]
    # Planned with the rule: the reviewer sees the sender change only. The rule is dropped and
    # the template edited live before the apply: the template is not written.
    rule = "    ignore: [messageTemplate]\n"
    text = _manifest("git wording", rule).replace("loyalty@", "crm@")
    (repo / MANIFEST).write_text(text)
    assert cli("plan", "--out", "with.json")[0] == 0
    (repo / MANIFEST).write_text(text.replace(rule, ""))
    store.edit_communication(START_ID, message_template="the UI's wording")
    code, out, err = cli("apply", "--plan", "with.json", "--auto-approve")
    assert code == 0, (out, err)
    assert _start(sandbox)["messageTemplate"] == "the UI's wording"
    assert _start(sandbox)["sender"] == "crm@northwind.example"
    # Planned without the rule: the template change was seen. A live edit made after the rule
    # is added makes that plan stale: the reviewer never saw that wording overwritten.
    assert cli("plan", "--out", "without.json")[0] == 0
    (repo / MANIFEST).write_text(text)
    store.edit_communication(START_ID, message_template="the UI's second wording")
    store.clear_request_log()
    assert cli("apply", "--plan", "without.json", "--auto-approve")[0] == 4
    assert writes(store.request_log()) == []


def test_export_keeps_an_entry_whose_ignored_active_was_switched_off_live(
    repo: Path, cli: Run, sandbox: object
) -> None:
    # The UI owns START's active: switched off there, export --force must not drop the entry
    # (the next plan's prune would then fight the UI when it is switched on again).
    exported = Path("manifests/spring-sprint-2026-2163/spend-500-in-april-2317.yaml")
    exported.parent.mkdir(parents=True)
    (repo / MANIFEST).rename(exported)
    exported.write_text(_manifest("first wording", "    ignore: [active]\n"))
    assert cli("apply", "--auto-approve")[0] == 0
    store = sandbox.store  # type: ignore[attr-defined]
    store.edit_communication(START_ID, active=False)
    code, out, err = cli(
        "export", "--target-group", str(GROUP), "--out-dir", "manifests", "--force"
    )
    assert code == 0, (out, err)
    for other in Path("manifests").rglob("*.yaml"):
        if other != exported:
            other.unlink()
    text = exported.read_text()
    assert "communicationType: START" in text
    assert "ignore: [active]" in text
    store.edit_communication(START_ID, active=True)  # switched on again in the UI
    document = json.loads(cli("plan", "--format", "json")[1])
    (target,) = document["targets"]
    assert [c["action"] for c in target["changes"] if c["id"] == START_ID] == ["noop"]
