"""A run's git base (issue 18): which documents it plans, and what the base adds to the plan.

``Baseline.open`` reads the base with git before any request (``affected.changed_since``); the
run then loads its documents through ``compare`` and ``wants`` (with ``--changed-since`` only
the changed ones are resolved and read). ``finish``, after the targets are planned, resolves
the base documents of the planned targets (their groups' lists are already read: no request
but for targets that moved to another group), labels every planned field with its origin
(``provenance``), and reads each released target once to count the communications it leaves
live. Released targets are never written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.affected import BaseDiff, Identity, changed_since, identity
from reconciler.api.wire import Communication
from reconciler.config import Settings
from reconciler.desired import DesiredTarget
from reconciler.errors import ApiError, AuthError, UsageError
from reconciler.manifests import LoadedDocument
from reconciler.plan import BaseInfo, ReleasedTarget, TargetPlan
from reconciler.provenance import label_target
from reconciler.resolve import Resolver, all_or_nothing
from reconciler.revision import Revision, find_revision
from reconciler.selection import parse_selectors, selected, shard_of


class CommunicationReader(Protocol):
    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]: ...


@dataclass
class Baseline:
    """The base of one run and what the run learns about it on the way."""

    settings: Settings
    paths: tuple[str, ...]
    ref: str
    only_changed: bool
    revision: Revision | None = None  # found once, before any manifest is read
    diff: BaseDiff | None = None
    selected_documents: int = 0
    names: dict[str, Identity] = field(default_factory=dict)  # head name -> identity
    heads: dict[tuple[int, int], DesiredTarget] = field(default_factory=dict)
    # selected documents left out as unchanged: resolved only to find a target declared twice
    unchanged: list[LoadedDocument] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        settings: Settings,
        paths: Sequence[str],
        changed_since: str | None,
        base: str | None,
    ) -> Baseline | None:
        if changed_since is not None and base is not None:
            raise UsageError("give --changed-since or --base, not both")
        ref = changed_since if changed_since is not None else base
        if ref is None:
            return None
        revision = find_revision(settings.root, ref)  # a bad ref fails before any manifest is read
        return cls(settings, tuple(paths), ref, changed_since is not None, revision)

    def compare(self, documents: list[LoadedDocument]) -> None:
        """Compare the working tree's documents (all of them, valid) with the base's."""
        self.diff = changed_since(
            self.settings, self.paths, self.ref, head=documents, revision=self.revision
        )

    def wants(self, doc: LoadedDocument) -> bool:
        """Whether the run plans this selected document (every one, without --changed-since)."""
        assert self.diff is not None
        self.selected_documents += 1
        if self.only_changed and not self.diff.is_changed(doc):
            self.unchanged.append(doc)
            return False
        self.names[doc.model.metadata.name] = identity(doc)
        return True

    def keep(self, wanted: DesiredTarget) -> None:
        self.heads[wanted.ref] = wanted

    async def finish(
        self,
        resolver: Resolver,
        client: CommunicationReader,
        planned: dict[tuple[int, int], TargetPlan],
        *,
        selectors: Sequence[str],
        shard: tuple[int, int] | None,
    ) -> tuple[BaseInfo, tuple[ReleasedTarget, ...]]:
        """Label ``planned`` in place; the plan's base and its released targets."""
        diff = self.diff
        assert diff is not None
        pairs = parse_selectors(selectors)
        olds = [diff.base[i] for i in dict.fromkeys(self.names.values()) if i in diff.base]
        gone = [
            doc
            for doc in diff.released
            if selected(doc.model.metadata.name, dict(doc.model.metadata.labels), pairs)
        ]
        resolved = await resolver.resolve([*olds, *gone], record=False)
        by_name = {target.name: target for target in resolved}
        by_ref: dict[tuple[int, int], DesiredTarget] = {}
        for old in resolved:
            by_ref.setdefault(old.ref, old)
        for ref, plan in list(planned.items()):
            head = self.heads.get(ref)
            if head is None or not plan.readable:
                continue
            base = _base_for(head, self.names, diff, by_name, by_ref)
            if base is None and head.source.path in diff.problems:
                continue  # its file did not load at the base: whose change it is, is unknown
            planned[ref] = label_target(plan, head, base)
        released_refs = {
            target.ref: target
            for target in (by_name.get(doc.model.metadata.name) for doc in gone)
            if target is not None
            and target.ref not in planned
            and (shard is None or shard_of(*target.ref, shard[1]) == shard[0])
        }
        released = await all_or_nothing(*(_released(client, t) for t in released_refs.values()))
        return self.info(), tuple(sorted(released, key=lambda r: (r.targetGroupId, r.targetId)))

    def warnings(self) -> tuple[str, ...]:
        """One per manifest file that did not load at the base: its documents count as new."""
        assert self.diff is not None
        return tuple(
            f"{name} did not load at {self.ref}: its documents are planned as changed, and "
            "their changes carry no origin (whose change each is, is unknown)"
            for name in self.diff.problems
        )

    def info(self) -> BaseInfo:
        diff = self.diff
        assert diff is not None
        return BaseInfo(
            ref=self.ref,
            commit=diff.revision.commit,
            changedSince=self.only_changed,
            documents=self.selected_documents,
            changedDocuments=len(self.names) if self.only_changed else _changed_count(diff),
            full=diff.full,
        )


def _changed_count(diff: BaseDiff) -> int:
    return len(diff.changed) if diff.full is None else diff.documents


def _base_for(
    head: DesiredTarget,
    names: dict[str, Identity],
    diff: BaseDiff,
    by_name: dict[str, DesiredTarget],
    by_ref: dict[tuple[int, int], DesiredTarget],
) -> DesiredTarget | None:
    """The base's desired state of a planned target: the base document of its identity when it
    resolves to this target, else a base document (a released one) that resolves to it."""
    written = names.get(head.name)
    old = diff.base.get(written) if written is not None else None
    if old is not None:
        found = by_name.get(old.model.metadata.name)
        if found is not None and found.ref == head.ref:
            return found
    return by_ref.get(head.ref)


async def _released(client: CommunicationReader, target: DesiredTarget) -> ReleasedTarget:
    """A released target, read once to count the active communications it leaves live. Only
    an authentication failure stops the run: a 403 on a target the run no longer manages (a
    grant withdrawn, maybe why its document went) is that target's note, as a 500 is."""
    common = {
        "targetGroupId": target.targetGroupId,
        "targetId": target.targetId,
        "name": target.name,
        "manifest": target.source.path,
    }
    try:
        live = await client.get_communications(*target.ref)
    except AuthError:
        raise
    except ApiError as exc:
        return ReleasedTarget(**common, readable=False, error=exc.message)
    return ReleasedTarget(**common, activeLive=sum(1 for row in live if row.active))
