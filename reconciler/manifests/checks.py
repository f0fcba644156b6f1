"""Cross-document rules of SPEC §3 that need every loaded document at once.

Pure: works on loaded documents and returns diagnostics; reads no files and no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.diagnostics import Diagnostic

if TYPE_CHECKING:
    from reconciler.manifests.load import LoadedDocument


class CrossDocumentChecks:
    """Duplicate ``metadata.name`` and the same target declared by two documents, checked as
    documents arrive; only each first declaration's name and position are kept."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}  # metadata.name -> where it was first declared
        self._targets: dict[tuple[int | str, int | str], tuple[str, str]] = {}

    def add(self, documents: Sequence[LoadedDocument]) -> list[Diagnostic]:
        problems: list[Diagnostic] = []
        for doc in documents:
            name = doc.model.metadata.name
            first_at = self._names.get(name)
            if first_at is None:
                self._names[name] = doc.where(("metadata", "name"))
            else:
                problems.append(
                    doc.diagnostic(
                        ("metadata", "name"),
                        f"duplicate metadata.name '{name}' (first declared at {first_at})",
                    )
                )
            ref = (doc.model.target.targetGroup, doc.model.target.target)
            first = self._targets.get(ref)
            if first is None:
                self._targets[ref] = (name, doc.where(("target",)))
            else:
                problems.append(
                    doc.diagnostic(
                        ("target",),
                        f"target {ref[1]!r} of group {ref[0]!r} is already declared by "
                        f"'{first[0]}' at {first[1]}",
                    )
                )
        return problems
