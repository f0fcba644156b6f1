"""The API contracts the contract suites give a run, and the sandbox state they compare.

``DIALECT_CONTRACTS``: the contract file ``reconciler probe`` would write against a sandbox serving
each dialect; ``write_contract`` writes one. ``rows`` reads the sandbox's own database (never the
API under test); ``active_view`` is what a target's active rows hold, ids left out.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

from reconciler.contract import Contract, ContractFile, contract_path, write_contract_file
from reconciler.sandbox.dialects import seeded_server_fields

DIALECT_CONTRACTS: dict[str, dict[str, object]] = {
    "replace-set": {"upsert": "replace"},
    "key-match": {"match": "key"},
    "type-match": {"match": "type"},
    "hide-inactive": {"inactiveRowsVisible": False},
    "drop-server-fields": {"keepsServerFields": False},
    "string-ids": {},  # read tolerantly: nothing to honour
    "object-body": {"body": "object"},
    "first-element": {"body": "single"},
}
DEMO_TARGETS = [(2163, 2317), (2163, 2318), (2163, 2319), (2170, 2401), (2170, 2402)]
UNDECLARED_GROUP = 2185  # Anniversary Club: run in the UI, no manifest names it
_COMPARED = ("communicationType", "channelId", "sender", "subjectTemplate", "messageTemplate")


def write_contract(
    repo: Path, settings: Mapping[str, object], *, endpoint: str, environment: str = "test"
) -> Path:
    """The contract file of ``environment`` that a probe of ``endpoint`` would have written."""
    path = contract_path(repo, environment)
    document = ContractFile(
        environment=environment,
        endpoint=endpoint,
        probedAt="2026-03-01T10:00:00Z",
        targetGroupId=2185,
        targetId=2501,
        contract=Contract.model_validate(dict(settings)),
    )
    write_contract_file(path, document)
    return path


def rows(
    db: Path, *, group: int | None = None, target: int | None = None
) -> list[dict[str, object]]:
    """Every column of the sandbox's communications rows (of a group or a target), by id."""
    query, args = "SELECT * FROM communications", []
    if group is not None:
        query, args = query + " WHERE targetGroupId = ?", [group]
    if target is not None:
        query += (" AND" if args else " WHERE") + " targetId = ?"
        args.append(target)
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute(query + " ORDER BY id", args).fetchall()
    return [dict(row) for row in found]


def active_view(
    db: Path, refs: Iterable[tuple[int, int]], *, leave_out: Iterable[int] = ()
) -> dict[tuple[int, int], list[tuple[object, ...]]]:
    """Each target's active rows as (type, channel, sender, subject, message, offset), sorted;
    ``leave_out`` names ids that a run was expected to leave as they were."""
    skipped = set(leave_out)
    view: dict[tuple[int, int], list[tuple[object, ...]]] = {}
    for group, target in refs:
        active = [
            tuple(row[name] for name in (*_COMPARED, "offsetDays"))
            for row in rows(db, group=group, target=target)
            if row["active"] and row["id"] not in skipped
        ]
        view[(group, target)] = sorted(active, key=repr)
    return view


def server_fields(db: Path, ids: Iterable[int]) -> dict[int, object]:
    """What the drop-server-fields dialect lists as each row's server fields (seeded when unset)."""
    found: dict[int, object] = {}
    wanted = set(ids)
    for row in rows(db):
        if row["id"] in wanted:
            stored = row["serverFields"]
            found[int(str(row["id"]))] = (
                json.loads(str(stored))
                if stored is not None
                else seeded_server_fields(int(str(row["channelId"])))
            )
    return found
