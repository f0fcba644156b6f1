"""Cross-document rules of SPEC §3 that need every loaded document at once.

Pure: works on loaded documents and returns diagnostics; reads no files and no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.diagnostics import Diagnostic

if TYPE_CHECKING:
    from reconciler.manifests.load import LoadedDocument


def cross_document(documents: Sequence[LoadedDocument]) -> list[Diagnostic]:
    """Duplicate ``metadata.name`` and the same target declared by two documents."""
    problems: list[Diagnostic] = []
    names: dict[str, LoadedDocument] = {}
    targets: dict[tuple[int | str, int | str], LoadedDocument] = {}
    for doc in documents:
        name = doc.model.metadata.name
        if name in names:
            first = names[name]
            problems.append(
                doc.diagnostic(
                    ("metadata", "name"),
                    f"duplicate metadata.name '{name}' (first declared at {first.where(('metadata', 'name'))})",
                )
            )
        else:
            names[name] = doc
        ref = (doc.model.target.targetGroup, doc.model.target.target)
        if ref in targets:
            first = targets[ref]
            problems.append(
                doc.diagnostic(
                    ("target",),
                    f"target {ref[1]!r} of group {ref[0]!r} is already declared by "
                    f"'{first.model.metadata.name}' at {first.where(('target',))}",
                )
            )
        else:
            targets[ref] = doc
    return problems
