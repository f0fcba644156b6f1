"""The record a failed canary leaves of the server fields its write emptied (issue 16), and the
writes that put them back: each recorded row as it is now, with the recorded fields echoed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.api.wire import Communication
from reconciler.applier.canary import Violation
from reconciler.applier.repair import (
    RepairRecord,
    pending_repairs,
    read_repair,
    record_lost_fields,
    repair_path,
    restoring_writes,
)
from reconciler.errors import ConfigError
from reconciler.plan import TargetPlan

CONFIGS = [{"name": "senderName", "value": "Northwind"}]
TARGET = TargetPlan(targetGroupId=2163, targetId=2317, name="spend", fingerprint="f")


def row(id: int, **fields: Any) -> Communication:
    values = {"sender": "S", "subjectTemplate": "", "messageTemplate": "m", "offsetDays": 0}
    return Communication.model_validate(
        {"id": id, "communicationType": "START", "channelId": 2, "active": True, **values, **fields}
    )


def lost(fields: dict[int, dict[str, object]]) -> Violation:
    return Violation("an update kept configs", "id 1 lost configs", lost_server_fields=fields)


def test_a_violation_that_lost_no_server_field_leaves_no_record(tmp_path: Path) -> None:
    plain = Violation("the upsert kept rows left out of the body", "id 2 became inactive")
    assert record_lost_fields(tmp_path, "prod", TARGET, plain) is None
    assert pending_repairs(tmp_path, "prod") == []


def test_the_record_round_trips_and_keeps_the_earliest_fields(tmp_path: Path) -> None:
    path = record_lost_fields(tmp_path, "prod", TARGET, lost({1: {"configs": CONFIGS}}))
    assert path == repair_path(tmp_path, "prod", (2163, 2317))
    assert path.name == "canary-prod-2163-2317.json"
    later = {1: {"configs": [{"name": "x", "value": "y"}]}, 5: {"configs": CONFIGS}}
    record_lost_fields(tmp_path, "prod", TARGET, lost(later))
    [(found, record)] = pending_repairs(tmp_path, "prod")
    assert found == path
    assert record.label == "spend (2163/2317)"
    assert record.serverFields == {1: {"configs": CONFIGS}, 5: {"configs": CONFIGS}}
    assert pending_repairs(tmp_path, "staging") == []


def test_writes_put_back_only_what_a_live_row_lacks(tmp_path: Path) -> None:
    record = RepairRecord(
        environment="prod",
        targetGroupId=2163,
        targetId=2317,
        assumption="a",
        detail="d",
        serverFields={1: {"configs": CONFIGS}, 2: {"configs": CONFIGS}, 3: {"configs": CONFIGS}},
    )
    live = [row(1, configs=[], messageTemplate="now"), row(2, configs=CONFIGS), row(9, configs=[])]
    [write] = restoring_writes(record, live)  # 2 has them, 3 is gone, 9 was never recorded
    assert write.id == 1
    assert write.echo == {"configs": CONFIGS}
    assert write.to_body()["messageTemplate"] == "now"  # as it is now, not as it was
    assert write.to_body()["configs"] == CONFIGS


def test_a_damaged_record_is_one_clear_error(tmp_path: Path) -> None:
    path = repair_path(tmp_path, "prod", (1, 2))
    path.parent.mkdir()
    path.write_text('{"version": 1}')
    with pytest.raises(ConfigError, match="not a canary record written by `reconciler apply`"):
        read_repair(path)
    assert read_repair(tmp_path / "none.json") is None
