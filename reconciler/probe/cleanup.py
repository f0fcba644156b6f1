"""Putting a scratch target back: every active row a probe made is written with
``active: false`` (there is no delete), the target's own rows a replacing server deactivated are
sent back as they were, and the read back says exactly what is left. Used at the end of every
probe, after a failed one, and for an interrupted one's journal at the start of the next.
"""

from __future__ import annotations

from reconciler.api.endpoints import CapillaryClient
from reconciler.errors import ApiError
from reconciler.probe.evidence import Row, rows_of, whole
from reconciler.probe.failures import ProbeError
from reconciler.probe.journal import Journal
from reconciler.probe.questions import Cleanup, Leftover
from reconciler.probe.scratch import communications_path
from reconciler.probe.traffic import refused, why


async def _read(client: CapillaryClient, path: str) -> list[Row]:
    exchange = await client.exchange("GET", path)
    if exchange.status != 200:
        raise ProbeError(f"reading the scratch target for its clean-up failed: {why(exchange)}")
    return rows_of(exchange.response_body)


def _mine(journal: Journal, row: Row) -> bool:
    return row.id in journal.created or row.message.startswith(journal.marker)


def _active(row: Row | None) -> bool:
    return row is not None and row.active is not False


async def clean_up(client: CapillaryClient, journal: Journal) -> Cleanup:
    """Deactivate what ``journal`` says the probe made; restore its ``restore`` rows."""
    path = communications_path(journal.targetGroupId, journal.targetId)
    result = Cleanup(journal.targetGroupId, journal.targetId)
    rows = await _read(client, path)
    active = [row for row in rows if _mine(journal, row) and _active(row)]
    by_id = {row.id: row for row in rows}
    lost = [e for e in journal.restore if not _active(by_id.get(whole(e.get("id")) or 0))]
    problems: list[str] = []
    if active or lost:
        elements = [row.element(active=False) for row in active]
        bodies: list[object] = (
            [[*elements, *journal.restore]]
            if journal.body == "array"
            else [*elements, *journal.restore]  # one object each, the target's own rows last
        )
        for body in bodies:
            try:
                exchange = await client.exchange("POST", f"{path}/upsert", body)
            except ApiError as exc:
                problems.append(exc.message)
                continue
            if refused(exchange):
                problems.append(f"the deactivation answered {why(exchange)}")
        rows = await _read(client, path)
        by_id = {row.id: row for row in rows}
        left = [row for row in active if _active(by_id.get(row.id))]
        if left and journal.body == "array" and not problems:
            # A server that applied only part of one array: each row left on its own.
            for row in left:
                try:
                    exchange = await client.exchange(
                        "POST", f"{path}/upsert", [row.element(active=False)]
                    )
                except ApiError as exc:
                    problems.append(exc.message)
                    continue
                if refused(exchange):
                    problems.append(f"the deactivation answered {why(exchange)}")
            rows = await _read(client, path)
            by_id = {row.id: row for row in rows}
    detail = f" ({problems[0]})" if problems else ""
    for row in active:
        if not _active(by_id.get(row.id)):
            result.deactivated.append(row.id)
    for row in rows:
        if _mine(journal, row) and _active(row):
            result.left.append(Leftover(row.id, row.type, row.channel, f"still active{detail}"))
    for sent in journal.restore:
        row_id = whole(sent.get("id"))
        if row_id is None:
            continue
        if _active(by_id.get(row_id)):
            # ``restore`` is set only once the server had deactivated these rows.
            result.restored.append(row_id)
            continue
        result.left.append(
            Leftover(
                row_id,
                str(sent.get("communicationType")),
                whole(sent.get("channelId")),
                "the target's own row, active before the probe, deactivated by the server's "
                f"upsert; re-activate it{detail}",
            )
        )
    return result


def leftover_lines(cleanup: Cleanup, journal_file: str) -> list[str]:
    """What the clean-up could not put back, one line each, and where the journal is kept."""
    where = f"target {cleanup.targetId} of target group {cleanup.targetGroupId}"
    lines = [f"could not clean up on {where}: {left.describe()}" for left in cleanup.left]
    if lines:
        lines.append(
            f"the journal {journal_file} lists them; the next `reconciler probe` on this "
            "environment tries again first"
        )
    return lines
