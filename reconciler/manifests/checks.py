"""Cross-document rules of SPEC §3 that need every loaded document at once.

Pure: works on loaded documents and returns diagnostics; reads no files and no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.diagnostics import Diagnostic
from reconciler.manifests.rules import duplicate_target

if TYPE_CHECKING:
    from reconciler.manifests.load import LoadedDocument


class CrossDocumentChecks:
    """Duplicate ``metadata.name`` and the same target written by two documents, checked as
    documents arrive; only each first declaration's name and position are kept. (Two
    different references to one target are found by ``resolve``.)"""

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
                message = duplicate_target(*ref, first_name=first[0], first_at=first[1])
                problems.append(doc.diagnostic(("target",), message))
        return problems
