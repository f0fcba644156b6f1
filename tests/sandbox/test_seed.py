"""The demo seed matches the shipped manifests so that the first plan shows every kind of change;
synthetic programmes are fast and exact (SPEC §8)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.sandbox import Store, open_store, reset, seed_synthetic
from reconciler.sandbox.seed import (
    CHANNELS,
    DEMO_STORY,
    SENDER,
    SYNTHETIC_KEYS,
    WEEKLY_SHOPPER_FINISH_HTML,
    synthetic_communication,
)

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
COMPARED = ("sender", "subjectTemplate", "messageTemplate", "offsetDays", "active")
# (target, communicationType, channel) -> what the first plan must do with it.
FIRST_PLAN = {
    2317: {
        ("START", "EMAIL"): "update",
        ("FINISH", "EMAIL"): "create",
        ("REMINDER", "SMS"): "noop",
        ("CHANGE", "MOBILE PUSH"): "create",
        ("CHANGE", "EMAIL"): "deactivate",
    },
    2318: {
        ("START", "SMS"): "noop",
        ("FINISH", "SMS"): "update",
        ("REMINDER", "SMS"): "deactivate",
    },
    2319: {("START", "EMAIL"): "create", ("FINISH", "EMAIL"): "create"},
    2401: {
        ("START", "MOBILE PUSH"): "noop",
        ("CHANGE", "MOBILE PUSH"): "noop",
        ("FINISH", "EMAIL"): "noop",
        ("REMINDER", "SMS"): "update",
        ("START", "SMS"): "deactivate",
    },
    2402: {
        ("START", "EMAIL"): "noop, duplicate deactivated",
        ("FINISH", "EMAIL"): "noop",
        ("CHANGE", "SMS"): "kept",
    },
}


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    yaml = YAML(typ="safe", pure=True)  # merge keys (<<: *email) resolve as in the product
    return [
        (path, document)
        for path in sorted(MANIFESTS.glob("*.yaml"))
        for document in yaml.load_all(path.read_text())
    ]


def _desired(path: Path, spec: dict[str, Any]) -> dict[str, object]:
    message = spec.get("messageTemplate")
    if "messageTemplateFile" in spec:
        message = (path.parent / spec["messageTemplateFile"]).read_text()
    return {
        "sender": spec["sender"].replace("${sender}", SENDER),
        "subjectTemplate": spec.get("subjectTemplate", ""),
        "messageTemplate": message,
        "offsetDays": spec.get("offsetDays", 0),
        "active": spec.get("active", True),
    }


def _resolve(store: Store, group_ref: int | str, target_ref: int | str) -> tuple[int, int]:
    group = next(g for g in store.groups() if group_ref in (g["id"], g["name"]))
    target = next(t for t in store.targets(group["id"]) if target_ref in (t["id"], t["name"]))
    return group["id"], target["id"]


def _first_plan(store: Store) -> dict[int, dict[tuple[str, str], str]]:
    """A deliberately small planner (SPEC §4) to pin what the seed makes the first plan show."""
    plan: dict[int, dict[tuple[str, str], str]] = {}
    for path, document in _documents():
        ref = document["target"]
        group_id, target_id = _resolve(store, ref["targetGroup"], ref["target"])
        desired = {
            (c["communicationType"], c.get("channel") or CHANNELS[c["channelId"]]): _desired(
                path, c
            )
            for c in document["communications"]
        }
        live: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for found in store.communications(group_id, target_id):
            key = (found["communicationType"], CHANNELS[found["channelId"]])
            live.setdefault(key, []).append(dict(found))
        prune = document.get("prune", True)
        actions = plan[target_id] = {}
        for key in desired.keys() | live.keys():
            candidates = sorted(
                live.get(key, []),
                key=lambda c: (c["active"], c["attribution"]["lastUpdatedOn"], c["id"]),
            )
            match = candidates[-1] if candidates else None
            want = desired.get(key)
            if want is None and match is not None and not match["active"]:
                continue  # an inactive undeclared communication is no change at all
            if want is None:
                action = "deactivate" if prune else "kept"
            elif match is None:
                action = "create" if want["active"] else "noop"
            elif match["active"] and not want["active"]:
                action = "deactivate"
            elif any(match[f] != want[f] for f in COMPARED):
                action = "update" if want["active"] else "noop"
            else:
                action = "noop"
            if sum(c["active"] for c in candidates[:-1]):
                # a declared key keeps one active row whatever prune says (issue 14 item 7)
                drop = prune or want is not None
                action += ", duplicate deactivated" if drop else ", duplicate kept"
            actions[key] = action
    return plan


def test_the_first_plan_shows_every_kind_of_change(sandbox_db: Path) -> None:
    plan = _first_plan(open_store(sandbox_db))
    assert plan == FIRST_PLAN
    assert set(DEMO_STORY) == set(FIRST_PLAN) | {2501}
    every = {action for target in plan.values() for action in target.values()}
    assert {"create", "update", "deactivate", "noop", "kept"} <= every


def test_the_first_apply_stays_under_the_safety_threshold(sandbox_db: Path) -> None:
    """Deactivating more than 25 % (and more than 2) of active managed ones would need --force."""
    store = open_store(sandbox_db)
    groups = {2317: 2163, 2318: 2163, 2319: 2163, 2401: 2170, 2402: 2170}
    active = sum(c["active"] for t, g in groups.items() for c in store.communications(g, t))
    deactivations = sum(a == "deactivate" for t in FIRST_PLAN.values() for a in t.values())
    assert deactivations / active <= 0.25


def test_the_unmanaged_target_has_live_communications(sandbox_db: Path) -> None:
    store = open_store(sandbox_db)
    assert [g["name"] for g in store.groups() if g["id"] == 2185] == ["Anniversary Club"]
    assert len(store.communications(2185, 2501)) == 2
    declared = {str(d["target"]["target"]) for _, d in _documents()}
    assert not declared & {"2501", "Gold Anniversary"}


def test_the_html_template_is_the_shipped_file() -> None:
    shipped = (MANIFESTS / "templates" / "weekly-shopper-finish.html").read_text()
    assert shipped == WEEKLY_SHOPPER_FINISH_HTML


def test_reset_is_repeatable_and_restarts_ids(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    store = reset(db)
    first = store.put_communication(
        2163, 2319, communication_type="START", channel_id=2, message_template="x", sender="s"
    )
    reset(db)
    again = store.put_communication(
        2163, 2319, communication_type="START", channel_id=2, message_template="x", sender="s"
    )
    assert first["id"] == again["id"] == 5143
    assert len(store.communications(2163, 2319)) == 1


def test_ten_thousand_synthetic_targets_seed_quickly(tmp_path: Path) -> None:
    db = tmp_path / "bench.db"
    started = time.monotonic()
    programme = seed_synthetic(db, groups=100, targets_per_group=100, comms_per_target=4)
    assert time.monotonic() - started < 10
    assert programme.target_count == 10_000
    assert len(programme.groups) == 100
    store = open_store(db)
    group = programme.groups[-1]
    target = programme.targets[group][-1]
    live = store.communications(group, target)
    assert len(live) == 4
    for found, (kind, channel) in zip(live, SYNTHETIC_KEYS[:4], strict=True):
        expected = synthetic_communication(group, target, kind, channel)
        assert (found["communicationType"], found["channelId"]) == (kind, channel)
        assert found["messageTemplate"] == expected.message_template
        assert found["subjectTemplate"] == expected.subject_template
        assert found["offsetDays"] == expected.offset_days
    assert len(store.targets(group)) == 100
    assert [c["name"] for c in store.channels()] == ["SMS", "EMAIL", "MOBILE PUSH"]
