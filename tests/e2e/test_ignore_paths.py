"""``ignore:`` rules (issue 19): one table test runs the five paths that read them (plan, drift,
apply, a saved plan's staleness check, export) over the same rule at every level
(environment, document, communication), against a real sandbox over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import PASSWORD, USERNAME, Run, write_config
from tests.support.sandbox import writes

GROUP, TARGET, START_ID = 2163, 2317, 5101
# Where `export --target-group 2163` writes this target: the merge path of export --force.
MANIFEST = Path("manifests/spring-sprint-2026-2163/spend-500-in-april-2317.yaml")
LIVE_EDIT = "Hi {{first_name}}, marketing's wording from the UI."
MANIFEST_TEXT = "Hi {{first_name}}, the wording git once had."


def _manifest(level: str, sender: str = "loyalty@northwind.example") -> str:
    document_rule = {
        "document": "ignore: [messageTemplate]\n",
        "document-keyed": "ignore:\n"
        "  - {communicationType: START, channelId: 2, fields: [messageTemplate]}\n",
    }.get(level, "")
    entry_rule = "    ignore: [messageTemplate]\n" if level == "communication" else ""
    return (
        "apiVersion: reconciler/v1\n"
        "kind: TargetCommunications\n"
        "metadata: {name: spend-500}\n"
        f"target: {{targetGroup: {GROUP}, target: {TARGET}}}\n"
        f"{document_rule}"
        "communications:\n"
        "  - communicationType: START\n"
        "    channelId: 2\n"
        f"    sender: {sender}\n"
        '    subjectTemplate: "Welcome to {{target_name}}"\n'
        f'    messageTemplate: "{MANIFEST_TEXT}"\n'
        f"{entry_rule}"
        "  - communicationType: CHANGE\n"
        "    channelId: 2\n"
        "    sender: loyalty@northwind.example\n"
        '    subjectTemplate: "Halfway there"\n'
        '    messageTemplate: "You\'re at {{achieved_value}} of {{target_value}}. Keep going!"\n'
        "  - communicationType: REMINDER\n"
        "    channelId: 1\n"
        "    sender: NWREWARDS\n"
        "    offsetDays: 3\n"
        '    messageTemplate: "{{first_name}}, 3 days left to reach {{target_value}} and earn '
        '1,000 bonus points."\n'
    )


@pytest.fixture
def ruled(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sandbox: object,
    monkeypatch: pytest.MonkeyPatch,
    cli: Run,
) -> tuple[str, Path]:
    """A repository whose one manifest ignores START's messageTemplate at ``request.param``'s
    level, converged without the rule, then START's template edited in the UI."""
    level = str(request.param)
    repo = tmp_path / "repo"
    (repo / MANIFEST).parent.mkdir(parents=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    write_config(repo, sandbox.url)  # type: ignore[attr-defined]
    (repo / MANIFEST).write_text(_manifest("none"))
    code, _, err = cli("apply", "--auto-approve")
    assert code == 0, err
    store = sandbox.store  # type: ignore[attr-defined]
    store.edit_communication(START_ID, message_template=LIVE_EDIT)
    if level == "environment":
        write_config(repo, sandbox.url, ignore="[messageTemplate]")  # type: ignore[attr-defined]
    (repo / MANIFEST).write_text(_manifest(level))
    store.clear_request_log()
    return level, repo


LEVELS = pytest.mark.parametrize(
    "ruled", ["environment", "document", "document-keyed", "communication"], indirect=True
)


def _start(sandbox: object) -> dict[str, object]:
    rows = sandbox.store.communications(GROUP, TARGET)  # type: ignore[attr-defined]
    return next(r for r in rows if r["id"] == START_ID)


@LEVELS
def test_the_five_paths_agree_on_one_rule(
    ruled: tuple[str, Path], cli: Run, sandbox: object
) -> None:
    level, repo = ruled
    store = sandbox.store  # type: ignore[attr-defined]

    # 1. plan: no change, the info line in text, JSON and markdown.
    code, text, err = cli("plan", "--detailed-exitcode")
    assert code == 0, (level, text, err)
    assert "No changes." in text
    assert "ignored: messageTemplate differs, edited by" in text
    document = json.loads(cli("plan", "--format", "json")[1])
    (target,) = document["targets"]
    assert [c["action"] for c in target["changes"]] == ["noop", "noop", "noop"]
    start = {"key": {"communicationType": "START", "channelId": 2}, "fields": ["messageTemplate"]}
    assert start in target["ignored"]
    assert len(target["ignored"]) == (3 if level in ("environment", "document") else 1)
    assert "ignored: messageTemplate differs, edited by" in target["info"][0]
    assert "ignored: messageTemplate differs" in cli("plan", "--format", "markdown")[1]

    # 2. drift: no drift (exit 0), the same info line.
    code, text, _ = cli("drift")
    assert code == 0, (level, text)
    assert "ignored: messageTemplate differs, edited by" in text

    # 3. apply: no write at all; the live edit stays.
    code, _, err = cli("apply", "--auto-approve")
    assert code == 0, err
    assert writes(store.request_log()) == []
    assert _start(sandbox)["messageTemplate"] == LIVE_EDIT

    # 4. staleness: a saved plan (changing the sender) made before a further live template edit
    # still applies, and writes the sender without writing over the newer template.
    (repo / MANIFEST).write_text(_manifest(level, sender="crm@northwind.example"))
    assert cli("plan", "--out", "plan.json")[0] == 0
    store.edit_communication(START_ID, message_template="edited again after planning")
    code, out, err = cli("apply", "--plan", "plan.json", "--auto-approve")
    assert code == 0, (level, out, err)
    after = _start(sandbox)
    assert after["sender"] == "crm@northwind.example"
    assert after["messageTemplate"] == "edited again after planning"

    # 5. export --force over the manifest keeps the rule and the manifest's own template.
    code, _, err = cli("export", "--target-group", str(GROUP), "--out-dir", "manifests", "--force")
    assert code == 0, err
    exported = (repo / MANIFEST).read_text()
    assert MANIFEST_TEXT in exported
    assert "edited again after planning" not in exported
    if level != "environment":
        assert "ignore:" in exported
    for other in (repo / "manifests").rglob("*.yaml"):
        if other != repo / MANIFEST:
            other.unlink()
    code, text, err = cli("plan", "--detailed-exitcode")
    assert code == 0, (level, text, err)
    assert "ignored: messageTemplate differs" in text
