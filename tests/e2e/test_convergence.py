"""Apply converges under faults and never leaves a duplicate (SPEC §6; issue 6, acceptance 2)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from reconciler.sandbox.faults import FaultConfig
from reconciler.sandbox.seed import seed_synthetic, synthetic_communication
from reconciler.sandbox.store import open_store
from tests.support.cli import PASSWORD, USERNAME, Run, write_config

EMAIL, SMS = 2, 1


def _desired(group: int, target: int, index: int) -> list[dict[str, object]]:
    finish = synthetic_communication(group, target, "FINISH", EMAIL)
    return [
        {
            "communicationType": "START",
            "channelId": EMAIL,
            "sender": "loyalty@northwind.example",
            "subjectTemplate": f"Welcome, target {target}",
            "messageTemplate": f"Hi {{{{first_name}}}},\nversion two for {target}.\n",
        },
        {
            "communicationType": "FINISH",
            "channelId": EMAIL,
            "sender": finish.sender,
            "subjectTemplate": finish.subject_template,
            "messageTemplate": finish.message_template + ("" if index % 2 else " Updated."),
        },
        {
            "communicationType": "REMINDER",
            "channelId": SMS,
            "sender": "NWREWARDS",
            "messageTemplate": f"Two days left for {target}.",
            "offsetDays": 2,
        },
        {
            "communicationType": "START",
            "channelId": SMS,
            "sender": "NWREWARDS",
            "messageTemplate": "paused",
            "active": False,
        },
    ]


def _yaml_string(value: object) -> str:
    import json

    return json.dumps(value) if isinstance(value, str) else str(value).lower()


def _write_manifests(
    directory: Path, targets: dict[int, list[int]]
) -> dict[tuple[int, int], list[dict[str, object]]]:
    wanted: dict[tuple[int, int], list[dict[str, object]]] = {}
    directory.mkdir()
    index = 0
    for group, ids in targets.items():
        documents = []
        for target in ids:
            entries = _desired(group, target, index)
            wanted[(group, target)] = entries
            lines = [
                "apiVersion: reconciler/v1",
                "kind: TargetCommunications",
                f"metadata: {{name: t-{target}}}",
                f"target: {{targetGroup: {group}, target: {target}}}",
                "communications:",
            ]
            for entry in entries:
                first = True
                for key, value in entry.items():
                    lines.append(f"  {'- ' if first else '  '}{key}: {_yaml_string(value)}")
                    first = False
            documents.append("\n".join(lines) + "\n")
            index += 1
        (directory / f"group-{group}.yaml").write_text("---\n".join(documents))
    return wanted


def test_repeated_applies_converge_under_faults_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Run
) -> None:
    db = tmp_path / "sandbox.db"
    programme = seed_synthetic(db, groups=5, targets_per_group=10)
    assert programme.target_count == 50
    repo = tmp_path / "repo"
    repo.mkdir()
    wanted = _write_manifests(repo / "manifests", programme.targets)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    # Retry-After: 0 on the injected throttles: the client honours Retry-After by pausing every
    # new request, which is right for a rate limiter and only slow against random throttles.
    faults = FaultConfig(
        fail_rate=0.2, throttle_rate=0.2, ambiguous_rate=0.3, seed=11, throttle_retry_after=0
    )
    with SandboxServer(db, faults=faults) as faulty:
        write_config(repo, faulty.url)
        codes = []
        for _ in range(5):
            code, _, _ = cli("apply", "--auto-approve", "--force")
            codes.append(code)
            if code == 0:
                break
        log = faulty.store.request_log()
    assert codes[-1] == 0, codes
    assert any(r.fault for r in log)  # the faults really happened
    with SandboxServer(db) as calm:
        write_config(repo, calm.url)
        code, out, err = cli("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert out.strip().endswith("No changes. Live state matches the manifests.")
    store = open_store(db)
    for (group, target), entries in wanted.items():
        live = store.communications(group, target)
        active = [c for c in live if c["active"]]
        keys = Counter((c["communicationType"], c["channelId"]) for c in active)
        assert all(n == 1 for n in keys.values()), (target, keys)
        declared_active = {
            (e["communicationType"], e["channelId"]): e for e in entries if e.get("active", True)
        }
        assert set(keys) == set(declared_active)  # nothing active that the manifests do not explain
        for comm in active:
            entry = declared_active[(comm["communicationType"], comm["channelId"])]
            assert comm["messageTemplate"] == entry["messageTemplate"]
            assert comm["offsetDays"] == entry.get("offsetDays", 0)
