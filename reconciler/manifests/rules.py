"""The two reference rules, each worded once: one communication per type and channel within a
target, one declaration per target. Pure: finds repeats and words them; reads nothing.

Reading checks each rule on references as written (so ``validate`` needs no network);
``resolve`` checks only what reading cannot see: two different references to one object.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator


def repeats(keys: Iterable[Hashable | None]) -> Iterator[tuple[int, int]]:
    """``(index, index of the first equal key)`` for every key seen before (None: no key)."""
    first: dict[Hashable, int] = {}
    for index, key in enumerate(keys):
        if key is None:
            continue
        seen = first.setdefault(key, index)
        if seen != index:
            yield index, seen


def duplicate_communication(kind: str, channel: int | str, first_entry: int) -> str:
    """The problem of a communication entry whose key an earlier entry (0-based) declared."""
    return (
        f"duplicate communication {kind} on channel {channel} "
        f"(also entry {first_entry + 1} of this target); one per type per channel"
    )


def duplicate_target(group: int | str, target: int | str, first_name: str, first_at: str) -> str:
    """The problem of a document declaring a target that the document ``first_name`` (at
    ``first_at``) already declares; names are quoted, ids are not."""
    return (
        f"target {target!r} of group {group!r} is already declared by '{first_name}' at {first_at}"
    )
