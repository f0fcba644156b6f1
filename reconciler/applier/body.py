"""The upsert requests that carry a target's writes under the API's contract (SPEC §6, §9): the
whole active set under ``replace``, the live row's server fields echoed where the server does not
keep them, one object per request under ``body: object``. Pure: no I/O, nothing is sent here.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.contract import Contract
from reconciler.plan import Snapshot


def contract_problem(contract: Contract) -> str | None:
    """Why apply cannot honour ``contract`` at all, or None."""
    if contract.upsert == "replace" and contract.body != "array":
        return (
            "the API contract says the upsert replaces a target's whole set (upsert: replace) "
            "and takes one communication per request (body: object or single): every request would "
            "deactivate the rest of the target, so apply refuses to write; check the contract "
            "with `reconciler probe`"
        )
    return None


def needs_live(contract: Contract) -> bool:
    """Whether the writes of a target depend on its live rows, not only on its plan."""
    return contract.upsert == "replace" or not contract.keepsServerFields


def request_bodies(
    writes: Sequence[CommunicationWrite],
    contract: Contract,
    live: Sequence[Communication] = (),
) -> list[list[CommunicationWrite]]:
    """The bodies of the requests that send ``writes`` to one target whose rows are ``live``.

    ``replace``: every active live row the writes leave out is sent as it is, with its id, so
    the server keeps it. ``keepsServerFields: false``: each element with an id carries its
    live row's server fields (``configs``...). ``body: object``: one element per request.
    """
    body = list(writes)
    if contract.upsert == "replace":
        written = {w.id for w in body if w.id is not None}
        body += [_as_live(row) for row in sorted(live, key=lambda r: r.id) if _kept(row, written)]
    if not contract.keepsServerFields:
        by_id = {row.id: row for row in live}
        body = [_echoed(w, by_id.get(w.id)) if w.id is not None else w for w in body]
    if not body:
        return []
    if contract.body != "array":  # one communication per request
        return [[w] for w in body]
    return [body]


def _kept(row: Communication, written: set[int]) -> bool:
    return row.active and row.id not in written


def _as_live(row: Communication) -> CommunicationWrite:
    """A live row written back unchanged (what a replacing upsert needs to keep it)."""
    return CommunicationWrite(id=row.id, **Snapshot.of(row).model_dump())


def _echoed(write: CommunicationWrite, row: Communication | None) -> CommunicationWrite:
    """``write`` with its live row's server fields; those it carries itself win (a repair)."""
    if row is None or not row.server_fields:
        return write
    return write.model_copy(update={"echo": {**row.server_fields, **write.echo}})
