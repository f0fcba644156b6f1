"""Which live rows a target's keys answer to (SPEC §4): the rows no manifest could declare, the
rows sharing each key, and the one row a key matches. Pure: no I/O; no Change is built here."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC
from functools import lru_cache

from reconciler.api.wire import Communication
from reconciler.assumptions import COMMUNICATION_TYPES
from reconciler.plan import Key

# Issue 9: a plan of 10,000 targets repeats a handful of keys 40,000 times; each distinct one
# is built once and shared (keys are frozen). At most this many are kept.
SHARED_LIMIT = 4096
_KNOWN_TYPES = frozenset(COMMUNICATION_TYPES)


def key_of(communication_type: str, channel_id: int) -> Key:
    """The key of a type and a channel, one shared instance per distinct pair."""
    if type(communication_type) is not str or type(channel_id) is not int:
        return Key(communicationType=communication_type, channelId=channel_id)  # validates
    return _shared_key(communication_type, channel_id)


@lru_cache(maxsize=SHARED_LIMIT)
def _shared_key(communication_type: str, channel_id: int) -> Key:
    return Key(communicationType=communication_type, channelId=channel_id)


def group_by_key(
    live: Sequence[Communication], channels: Mapping[int, str] | None
) -> tuple[dict[Key, list[Communication]], list[tuple[Communication, str]]]:
    """The managed rows of ``live`` by key, and the unmanaged ones with why (``unmanaged_reason``)."""
    by_key: dict[Key, list[Communication]] = defaultdict(list)
    unmanaged: list[tuple[Communication, str]] = []
    for comm in live:
        why = unmanaged_reason(comm, channels)
        if why is not None:
            unmanaged.append((comm, why))
        else:
            by_key[key_of(comm.communicationType, comm.channelId)].append(comm)
    return by_key, unmanaged


def unmanaged_reason(comm: Communication, channels: Mapping[int, str] | None) -> str | None:
    """Why no manifest could declare ``comm`` (SPEC §4: prune never touches it), or None.

    A manifest names a type of the schema's enum and a channel of the channel list (by name or
    id); ``channels`` is that list, or None when it is not known (then every channel counts).
    """
    kind, channel = comm.communicationType, comm.channelId
    if kind not in _KNOWN_TYPES:
        name = (channels or {}).get(channel)
        where = f"{name} (channelId {channel})" if name else f"channelId {channel}"
        return f"unknown type {_shown(kind)} on {where}"
    if channels is not None and channel not in channels:
        return f"unknown channel id {channel} for {kind}, not in the channel list"
    return None


def _shown(text: str) -> str:
    """A server-chosen type name, printable on one line."""
    if text.isprintable() and text.strip() == text and text:
        return text
    return json.dumps(text, ensure_ascii=True)


def pick_match(
    candidates: Sequence[Communication],
) -> tuple[Communication | None, list[Communication]]:
    """The live match among communications sharing a key, and the other *active* ones (SPEC §4);
    the applier uses the same rule to keep one row of a declared key.

    The match is the most recently updated active one (higher id breaks ties); with no active
    one, the most recently updated inactive one, which an update then re-activates.
    """
    if len(candidates) == 1:  # the common case (issue 9)
        return candidates[0], []
    active = sorted((c for c in candidates if c.active), key=_recency)
    if active:
        return active[-1], active[:-1]
    if candidates:
        return max(candidates, key=_recency), []
    return None, []


def _recency(comm: Communication) -> tuple[float, int]:
    when = comm.attribution.lastUpdatedOn if comm.attribution else None
    if when is None:
        return (-math.inf, comm.id)
    if when.tzinfo is None:  # a naive timestamp is read as UTC, never as local time
        when = when.replace(tzinfo=UTC)
    return (when.timestamp(), comm.id)
