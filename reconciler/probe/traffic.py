"""One probe's requests against its scratch target: every write is noted in the journal before
it is sent, every read notes the rows the probe made, and each exchange becomes a numbered
evidence entry. Decides nothing about what an answer means (``steps`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from reconciler.api.endpoints import CapillaryClient, Exchange
from reconciler.probe.evidence import Row, entry, errors_of, rows_of, whole
from reconciler.probe.failures import ProbeError
from reconciler.probe.journal import Journal, write_journal
from reconciler.probe.scratch import communications_path

Shape = Literal["array", "object"]


def refused(exchange: Exchange) -> bool:
    return not 200 <= exchange.status < 300


def why(exchange: Exchange) -> str:
    """``HTTP 400: code 300004: ...``: an answer's status and what its envelope says."""
    detail = errors_of(exchange.response_body)
    if not detail and isinstance(exchange.response_body, str):
        detail = exchange.response_body
    return f"HTTP {exchange.status}" + (f": {detail}" if detail else "")


class Prober:
    """Sends the probe's requests for one target and keeps the journal and evidence."""

    def __init__(
        self,
        client: CapillaryClient,
        journal: Journal,
        journal_file: Path,
        baseline: Sequence[Row] = (),
    ) -> None:
        self.client = client
        self.journal = journal
        self.journal_file = journal_file
        self.read_path = communications_path(journal.targetGroupId, journal.targetId)
        self.write_path = f"{self.read_path}/upsert"
        self.baseline = {row.id: row for row in baseline}
        self.evidence: list[dict[str, object]] = []
        self.step = 0
        self.rows: list[Row] = []

    @property
    def shape(self) -> Shape:
        return self.journal.body

    def save(self) -> None:
        write_journal(self.journal_file, self.journal)

    def mine(self, row: Row) -> bool:
        return row.id in self.journal.created or row.message.startswith(self.journal.marker)

    async def write(
        self, what: str, elements: list[dict[str, object]], *, shape: Shape | None = None
    ) -> Exchange:
        """POST ``elements`` (one object when the shape is ``object``); under a replacing
        server every array also carries the target's own rows (``journal.restore``)."""
        shape = shape or self.shape
        keys: list[tuple[str, int]] = []
        for element in elements:
            channel = whole(element.get("channelId"))
            if "id" not in element and channel is not None:
                keys.append((str(element.get("communicationType")), channel))
        if self.journal.note_keys(keys):
            self.save()  # before the write: an interrupted probe is found from here
        body: object
        if shape == "object":
            if len(elements) != 1:
                raise ProbeError(f"internal: {len(elements)} elements for a one-object body")
            body = elements[0]
        else:
            body = [*elements, *self.journal.restore]
        self.step += 1
        exchange = await self.client.exchange("POST", self.write_path, body)
        if not refused(exchange):
            self._note([row for row in rows_of(exchange.response_body) if self.mine(row)])
        self.evidence.append(entry(self.step, what, exchange))
        return exchange

    async def must_write(
        self, what: str, elements: list[dict[str, object]], *, shape: Shape | None = None
    ) -> Exchange:
        """``write``, where a refusal ends the probe: the sequence cannot go on without it."""
        exchange = await self.write(what, elements, shape=shape)
        if refused(exchange):
            raise ProbeError(f"step {self.step} ({what}) was refused: {why(exchange)}")
        return exchange

    async def read(self, what: str = "read the target back") -> list[Row]:
        """GET the target; the evidence shows the probe's rows and any of the target's own
        rows that are no longer as they were."""
        self.step += 1
        exchange = await self.client.exchange("GET", self.read_path)
        if exchange.status != 200:
            self.evidence.append(entry(self.step, what, exchange))
            raise ProbeError(f"step {self.step} ({what}) failed: {why(exchange)}")
        rows = rows_of(exchange.response_body)
        mine = [row for row in rows if self.mine(row)]
        self._note(mine)
        changed = [
            row
            for row in rows
            if row.id in self.baseline and dict(row.raw) != dict(self.baseline[row.id].raw)
        ]
        self.evidence.append(entry(self.step, what, exchange, shown=[*mine, *changed]))
        self.rows = rows
        return rows

    def _note(self, rows: list[Row]) -> None:
        if self.journal.note_created([row.id for row in rows if row.id not in self.baseline]):
            self.save()
