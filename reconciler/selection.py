"""Which manifests a run covers: ``--select k=v``, ``--shard K/N`` (SPEC §4 ownership, §5).

Pure functions; a target outside the selection is never read or written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from reconciler.errors import UsageError


def parse_selectors(values: Sequence[str]) -> list[tuple[str, str]]:
    """``["team=crm", "name=x"]`` → pairs; ``name`` matches ``metadata.name``, others labels."""
    pairs = []
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--select expects KEY=VALUE, got {value!r}")
        pairs.append((key.strip(), wanted.strip()))
    return pairs


def selected(name: str, labels: dict[str, str], selectors: Sequence[tuple[str, str]]) -> bool:
    """All selectors must match (AND), as Kubernetes label selectors do."""
    for key, wanted in selectors:
        actual = name if key == "name" else labels.get(key)
        if actual != wanted:
            return False
    return True


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``"2/3"`` → (2, 3), 1-based."""
    if value is None:
        return None
    k, sep, n = value.partition("/")
    try:
        shard, total = int(k), int(n)
    except ValueError:
        shard, total = 0, 0
    if not sep or total < 1 or not 1 <= shard <= total:
        raise UsageError(f"--shard expects K/N with 1 <= K <= N, got {value!r}")
    return shard, total


def shard_of(group_id: int, target_id: int, total: int) -> int:
    """The 1-based shard of a target: a stable hash, the same on every machine and run."""
    digest = hashlib.sha256(f"{group_id}/{target_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def no_match(selectors: Sequence[str], in_use: Iterable[tuple[str, Mapping[str, str]]]) -> str:
    """The error for ``--select`` values that match no document, naming the labels and names
    the documents do have (``in_use``: each document's ``metadata.name`` and labels)."""
    labels: set[str] = set()
    names: set[str] = set()
    for name, document_labels in in_use:
        names.add(f"name={name}")
        labels.update(f"{k}={v}" for k, v in document_labels.items())
    shown = " ".join(f"--select {s}" for s in selectors)
    found = f"labels {_some(labels)}" if labels else "no labels"
    return f"{shown} matches no manifest; the manifests have {found} and names {_some(names)}"


def no_group_match(wanted: int | str, declared: Iterable[int | str]) -> str:
    """The error for a ``--target-group`` that no (selected) document declares."""
    groups = {str(g) for g in declared}
    found = f"declare target groups {_some(groups)}" if groups else "declare no target group"
    return f"--target-group {wanted} matches no manifest; the selected manifests {found}"


def _some(items: set[str], limit: int = 20) -> str:
    ordered = sorted(items)
    more = f" and {len(ordered) - limit} more" if len(ordered) > limit else ""
    return ", ".join(ordered[:limit]) + more
