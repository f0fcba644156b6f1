"""Reading the probe's raw answers: rows read tolerantly from whatever JSON came back, the
elements the probe sends, and exchanges turned into scrubbed evidence entries. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.api.endpoints import Exchange
from reconciler.redact import scrub

# The fields an upsert element carries, in the order the tool sends them.
ELEMENT_FIELDS = (
    "id",
    "active",
    "channelId",
    "communicationType",
    "messageTemplate",
    "offsetDays",
    "sender",
    "subjectTemplate",
)
# Fields a GET may carry that the body never does and an update might empty.
SERVER_FIELDS = ("configs", "supportedCommChannels")
_DIGITS = re.compile(r"-?[0-9]{1,19}")


def whole(value: object) -> int | None:
    """An integer, or the digits of one as a string (string-ids servers); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


@dataclass(frozen=True)
class Row:
    """One communication as an answer showed it; ``raw`` is the JSON object itself."""

    id: int
    type: str
    channel: int | None
    active: bool | None
    message: str
    raw: Mapping[str, object]

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.type, self.channel)

    def server_fields(self) -> dict[str, object]:
        """The server-side fields this row carries (``configs``, ...), as they are."""
        return {name: self.raw[name] for name in SERVER_FIELDS if name in self.raw}

    def has_configs(self) -> bool:
        configs = self.raw.get("configs")
        return isinstance(configs, list) and bool(configs)

    def element(self, *, active: bool, **changes: object) -> dict[str, object]:
        """This row as an upsert element (the tool's fields only), with ``changes``."""
        raw = self.raw
        offset = whole(raw.get("offsetDays"))
        out: dict[str, object] = {
            "id": self.id,
            "active": active,
            "channelId": self.channel,
            "communicationType": self.type,
            "messageTemplate": self.message,
            "offsetDays": 0 if offset is None else offset,
            "sender": _text(raw.get("sender")),
            "subjectTemplate": _text(raw.get("subjectTemplate")),
        }
        out.update(changes)
        return out


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def read_row(value: object) -> Row | None:
    """A row from one JSON object of an answer; None for what has no readable id."""
    if not isinstance(value, Mapping):
        return None
    row_id = whole(value.get("id"))
    if row_id is None:
        return None
    kind = value.get("communicationType")
    active = value.get("active")
    return Row(
        id=row_id,
        type=kind if isinstance(kind, str) else str(kind),
        channel=whole(value.get("channelId")),
        active=active if isinstance(active, bool) else None,
        message=_text(value.get("messageTemplate")),
        raw=value,
    )


def data_of(body: object) -> object:
    """The envelope's ``data`` (None when the body is not an envelope)."""
    return body.get("data") if isinstance(body, Mapping) else None


def rows_of(body: object) -> list[Row]:
    """The rows of an answer whose ``data`` is a list of communications or one of them."""
    data = data_of(body)
    items = data if isinstance(data, list) else [data]
    return [row for row in map(read_row, items) if row is not None]


def errors_of(body: object) -> str:
    """The envelope's error messages as one line (``code N: message; ...``), or ''."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for entry in errors:
        if isinstance(entry, Mapping):
            code, message = entry.get("code"), entry.get("message")
            parts.append(f"code {code}: {message}" if code is not None else str(message))
        else:
            parts.append(str(entry))
    return scrub("; ".join(parts))


def element(
    kind: str, channel: int, message: str, sender: str, *, id: int | None = None
) -> dict[str, object]:
    """A new active element of the probe (``id`` only for an update)."""
    out: dict[str, object] = {} if id is None else {"id": id}
    out.update(
        active=True,
        channelId=channel,
        communicationType=kind,
        messageTemplate=message,
        offsetDays=0,
        sender=sender,
        subjectTemplate="reconciler probe",
    )
    return out


def scrubbed(value: object) -> object:
    """``value`` with every string (keys included) passed through ``redact.scrub``."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub(str(k)): scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(v) for v in value]
    return value


def entry(
    step: int, what: str, exchange: Exchange, shown: list[Row] | None = None
) -> dict[str, object]:
    """One evidence entry: the request and the answer, scrubbed. For a read, ``shown`` keeps
    only the rows that matter (the probe's own and any the server changed)."""
    out: dict[str, object] = {"step": step, "what": what}
    out["request"] = f"{exchange.method} {exchange.path}"
    if exchange.method == "POST":
        out["body"] = scrubbed(exchange.request_body)
    out["status"] = exchange.status
    if shown is None:
        out["answer"] = scrubbed(exchange.response_body)
    else:
        out["answer"] = {"data": [scrubbed(dict(row.raw)) for row in shown]}
        out["note"] = f"{len(rows_of(exchange.response_body))} rows; the probe's rows shown"
    return out
