"""Sandbox dialects: the other readings of Capillary's underdocumented upsert that the sandbox
can emulate, so every contract mode is tested over HTTP (SPEC §9). Pure rules and shapes; the
store applies the write rules, the app the read and body rules. No dialect: today's sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import create_model

from reconciler.errors import UsageError
from reconciler.sandbox.models import (
    CommunicationJSON,
    ConfigJSON,
    DigitsChannelId,
    DigitsId,
    ServerFieldsElement,
    ServerFieldsJSON,
    UpsertElement,
)

# name -> what a server speaking it does differently (the CLI's help lists these).
DIALECTS = {
    "replace-set": "an upsert deactivates the target's active rows that the body leaves out",
    "key-match": "the upsert ignores id and matches rows on (communicationType, channelId)",
    "type-match": "the upsert ignores id and matches rows on communicationType alone",
    "hide-inactive": "GET communications leaves inactive rows out",
    "drop-server-fields": "rows carry configs; an update without configs empties them",
    "string-ids": "ids and channelId come back as JSON strings of digits",
    "object-body": "the upsert takes one JSON object; an array is a 400",
    "first-element": "the upsert stores only the first element of an array and answers 200",
}
# Pairs no server could speak at once, and why.
_INCOMPATIBLE = {
    frozenset({"key-match", "type-match"}): "a server matches rows on one key, not two",
    frozenset({"first-element", "object-body"}): "an object body has no second element",
    frozenset({"replace-set", "object-body"}): (
        "a one-object body that replaces the target's whole set would leave at most one "
        "active communication on every target"
    ),
}
# The keys string-ids answers as strings, wherever they appear in an answer's data.
_ID_KEYS = frozenset({"id", "targetId", "targetGroupId", "channelId"})
# What drop-server-fields shows on a row whose server fields nothing has set, by channel id
# (the demo's SMS, EMAIL and MOBILE PUSH; see seed.CHANNELS).
_SEEDED_CONFIGS: dict[int, list[ConfigJSON]] = {
    1: [{"name": "dltTemplateId", "value": "1107161234567890123"}],
    2: [
        {"name": "senderName", "value": "Northwind Rewards"},
        {"name": "replyTo", "value": "care@northwind.example"},
    ],
    3: [{"name": "deepLink", "value": "northwind://rewards"}],
}
_SEEDED_CHANNELS = {1: "SMS", 2: "EMAIL", 3: "MOBILE PUSH"}
_OTHER_CONFIGS: list[ConfigJSON] = [{"name": "trackLinks", "value": "true"}]

Match = Literal["id", "key", "type"]


@dataclass(frozen=True)
class Dialect:
    """The dialects one sandbox speaks at once (``parse_dialects`` checks the combination)."""

    names: frozenset[str] = frozenset()

    @property
    def match(self) -> Match:
        """What an upsert element is matched on: its ``id``, its key, or its type alone."""
        if "key-match" in self.names:
            return "key"
        if "type-match" in self.names:
            return "type"
        return "id"

    @property
    def first_element(self) -> bool:
        return "first-element" in self.names

    @property
    def replace_set(self) -> bool:
        return "replace-set" in self.names

    @property
    def hide_inactive(self) -> bool:
        return "hide-inactive" in self.names

    @property
    def drop_server_fields(self) -> bool:
        return "drop-server-fields" in self.names

    @property
    def string_ids(self) -> bool:
        return "string-ids" in self.names

    @property
    def object_body(self) -> bool:
        return "object-body" in self.names

    def __str__(self) -> str:
        return ", ".join(name for name in DIALECTS if name in self.names) or "default"


DEFAULT = Dialect()


def parse_dialects(names: Iterable[str] | Dialect = ()) -> Dialect:
    """The dialect that speaks every one of ``names`` (a name given twice counts once).

    ``UsageError`` for an unknown name or a combination no server could speak.
    """
    if isinstance(names, Dialect):
        return names
    if isinstance(names, str):
        names = [names]
    chosen = frozenset(names)
    unknown = sorted(chosen - DIALECTS.keys())
    if unknown:
        raise UsageError(
            f"unknown sandbox dialect {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(DIALECTS)}"
        )
    for pair, why in _INCOMPATIBLE.items():
        if pair <= chosen:
            first, second = (name for name in DIALECTS if name in pair)
            raise UsageError(f"the sandbox dialects {first} and {second} cannot be combined: {why}")
    return Dialect(chosen)


def element_model(dialect: Dialect) -> type[UpsertElement]:
    """The model of one upsert element in ``dialect``'s bodies."""
    return _element_model(dialect.drop_server_fields, dialect.string_ids)


@cache
def _element_model(server_fields: bool, string_ids: bool) -> type[UpsertElement]:
    base = ServerFieldsElement if server_fields else UpsertElement
    if not string_ids:
        return base
    return create_model(
        "UpsertElement",
        __base__=base,
        __doc__=base.__doc__,
        id=(DigitsId | None, None),
        channelId=(DigitsChannelId, ...),
    )


def seeded_server_fields(channel_id: int) -> ServerFieldsJSON:
    """What drop-server-fields shows on a row of ``channel_id`` whose fields nobody set."""
    channel = _SEEDED_CHANNELS.get(channel_id)
    return {
        "configs": [
            {"name": c["name"], "value": c["value"]}
            for c in _SEEDED_CONFIGS.get(channel_id, _OTHER_CONFIGS)
        ],
        "supportedCommChannels": [] if channel is None else [channel],
    }


def listing(
    dialect: Dialect, rows: Sequence[tuple[CommunicationJSON, ServerFieldsJSON | None]]
) -> list[CommunicationJSON]:
    """A target's communications as its GET answers them: each with its ``configs`` (and
    ``supportedCommChannels`` when it has them); inactive ones left out under hide-inactive."""
    listed: list[CommunicationJSON] = []
    for communication, fields in rows:
        if dialect.hide_inactive and not communication["active"]:
            continue
        if fields is None and dialect.drop_server_fields:
            fields = seeded_server_fields(communication["channelId"])
        if fields is None:
            listed.append({**communication, "configs": []})
        else:
            listed.append(
                {
                    **communication,
                    "configs": fields["configs"],
                    "supportedCommChannels": fields["supportedCommChannels"],
                }
            )
    return listed


def outgoing(dialect: Dialect, data: object) -> object:
    """An answer's ``data`` as ``dialect`` writes it (string-ids: every id as its digits)."""
    return _stringify(data) if dialect.string_ids else data


def _stringify(value: object) -> object:
    if isinstance(value, dict):
        return {
            key: str(item)
            if key in _ID_KEYS and isinstance(item, int) and not isinstance(item, bool)
            else _stringify(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_stringify(item) for item in value]
    return value
