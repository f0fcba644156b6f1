"""What a failed canary leaves for the next apply to repair (SPEC §9): the server fields
(``configs``...) its write emptied on the canary target, kept in
``.reconciler/canary-<env>-<group>-<target>.json`` until an apply whose contract echoes server
fields writes them back. The compared fields need no record: planning restores them. Owns those
files; the writes go through ``execute.Applier.send``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.applier.canary import Violation
from reconciler.applier.execute import Applier, _Inconsistent
from reconciler.applier.outcomes import TargetOutcome
from reconciler.applier.verify import known_keys
from reconciler.errors import ApiError, ConfigError
from reconciler.localstate import read_state, write_state
from reconciler.plan import NamedTarget, Snapshot, TargetPlan


class RepairRecord(NamedTarget, BaseModel):
    """The canary target, and each of its rows' server fields before the canary wrote it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    environment: str
    targetGroupId: int
    targetId: int
    name: str = ""
    assumption: str
    detail: str
    serverFields: dict[int, dict[str, Any]]


def repair_path(root: Path, environment: str, ref: tuple[int, int]) -> Path:
    return root / ".reconciler" / f"canary-{environment}-{ref[0]}-{ref[1]}.json"


def pending_repairs(root: Path, environment: str) -> list[tuple[Path, RepairRecord]]:
    """Every record an earlier canary of ``environment`` left, in target order."""
    found = []
    for path in sorted((root / ".reconciler").glob(f"canary-{environment}-*-*.json")):
        record = read_repair(path)
        if record is not None and record.environment == environment:
            found.append((path, record))
    return sorted(found, key=lambda item: item[1].ref)


def record_lost_fields(
    root: Path, environment: str, target: TargetPlan, violation: Violation
) -> Path | None:
    """Keep what the canary's write emptied, for the next apply to restore; an older record of
    the target keeps its (earlier, so truer) server fields."""
    lost = violation.lost_server_fields
    if not lost:
        return None
    path = repair_path(root, environment, target.ref)
    earlier = read_repair(path)
    fields = {**lost, **(earlier.serverFields if earlier is not None else {})}
    record = RepairRecord(
        environment=environment,
        targetGroupId=target.targetGroupId,
        targetId=target.targetId,
        name=target.name,
        assumption=violation.assumption,
        detail=violation.detail,
        serverFields=fields,
    )
    write_repair(path, record)
    return path


def read_repair(path: Path) -> RepairRecord | None:
    """The record at ``path``, or None when there is none; anything unreadable is a ConfigError."""
    record, problem = read_state(path, RepairRecord, "canary record")
    if problem is not None:
        raise ConfigError(
            f"{path}: not a canary record written by `reconciler apply`; delete it if the "
            "server fields it lists need no repair"
        )
    return record


def write_repair(path: Path, record: RepairRecord) -> None:
    write_state(path, record)


def restoring_writes(
    record: RepairRecord, live: Sequence[Communication]
) -> list[CommunicationWrite]:
    """Each recorded row that is still live but lacks a server field it had: written back as it
    is now, with the recorded fields echoed (rows that have them, or are gone, need nothing)."""
    writes = []
    for row in sorted(live, key=lambda r: r.id):
        fields = record.serverFields.get(row.id)
        if fields and missing(fields, row.server_fields):
            snapshot = Snapshot.of(row)
            writes.append(CommunicationWrite(id=row.id, **snapshot.model_dump(), echo=fields))
    return writes


def missing(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The recorded server fields that ``now`` does not hold as recorded."""
    return sorted(name for name, value in recorded.items() if now.get(name) != value)


async def restore(applier: Applier, record: RepairRecord) -> TargetOutcome:
    """Write the recorded server fields back to the canary target, under ``applier``'s contract
    (which echoes server fields), and re-read it to confirm: one read, one write, one read."""
    target = TargetPlan(
        targetGroupId=record.targetGroupId,
        targetId=record.targetId,
        name=record.name,
        fingerprint="",
    )
    outcome = TargetOutcome(target, "applied")
    try:
        live = await applier.client.get_communications(*record.ref)
        writes = restoring_writes(record, live)
        if writes:
            await applier.send(target, writes, outcome, known_keys(target, live), live)
            live = await applier.client.get_communications(*record.ref)
    except ApiError as exc:
        outcome.status, outcome.message = "failed", f"restoring server fields: {exc.message}"
        return outcome
    except _Inconsistent as exc:
        outcome.status, outcome.message = "failed", f"restoring server fields: {exc}"
        return outcome
    left = restoring_writes(record, live)
    if left:
        ids = ", ".join(str(w.id) for w in left)
        outcome.status = "failed"
        outcome.message = f"server fields of ids {ids} are still missing after writing them back"
        return outcome
    names = sorted({n for w in writes for n in w.echo})
    ids = ", ".join(str(w.id) for w in writes)
    outcome.message = (
        f"restored {', '.join(names)} of ids {ids}, emptied by the write of a canary run"
        if writes
        else "server fields as before the canary run; nothing to restore"
    )
    return outcome
