"""Which manifest documents a change since a git ref affects (issue 18), decided offline.

``changed_since(settings, paths, ref)`` loads the manifests as they were at ``ref`` (read with
git, see ``revision``) and as they are in the working tree, and compares each document's
**desired state** after interpolation and after following ``messageTemplateFile``: a changed
template file, ``vars`` value or YAML anchor marks exactly the documents it affects. Documents
are matched by their target as written (``target.targetGroup`` and ``target.target`` after
interpolation); a document whose target changed is one released and one new.

The desired state is what a plan writes: ``prune`` and the communications (as written, channel
names unresolved, templates as text), in any order. ``metadata`` (name, labels) is not part of
it. A change to ``reconciler.yaml`` outside the environments' ``vars`` makes every document
changed (``BaseDiff.full`` says why), as does a change to the environment's committed API
contract (``.reconciler/contract-<environment>.json``). Sends no request; raises ``GitError`` before any work
when the base cannot be read.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config import ConfigFile, Settings, load_config
from reconciler.contract import contract_path, read_contract_file
from reconciler.errors import ReconcilerError
from reconciler.manifests import LoadedDocument, ManifestLoader
from reconciler.revision import Revision, find_revision, write_tree

Identity = tuple[str, str]  # a document's target as written: JSON of its group and target refs


def identity(doc: LoadedDocument) -> Identity:
    """The target a document declares, as written (``2163`` and ``"Spring"`` differ)."""
    target = doc.model.target
    return (json.dumps(target.targetGroup), json.dumps(target.target))


def desired_state(doc: LoadedDocument) -> str:
    """A document's desired state as canonical JSON: equal exactly when a plan writes alike."""
    entries = sorted(
        json.dumps(
            {
                **entry.model_dump(mode="json", exclude={"messageTemplate", "messageTemplateFile"}),
                "messageTemplate": text,
            },
            sort_keys=True,
        )
        for entry, text in zip(doc.model.communications, doc.message_templates, strict=True)
    )
    return json.dumps({"prune": doc.model.prune, "communications": entries})


@dataclass(frozen=True)
class BaseDiff:
    """The manifests at a git base against the working tree's.

    ``changed``: identities of working-tree documents whose desired state differs from the
    base (new documents included). ``base``: every base document by identity (their ``path``
    is the working tree's name for the file). ``released``: base documents whose target no
    working-tree document declares (in ``paths`` or anywhere in the configuration's
    manifests). ``full``: why every document counts as changed, or None.
    """

    revision: Revision
    changed: frozenset[Identity]
    base: Mapping[Identity, LoadedDocument]
    released: tuple[LoadedDocument, ...]
    documents: int  # working-tree documents compared
    full: str | None = None
    # the working-tree names of base files that did not load (in full or in part)
    problems: tuple[str, ...] = field(default=(), compare=False)

    def is_changed(self, doc: LoadedDocument) -> bool:
        return self.full is not None or identity(doc) in self.changed

    def base_of(self, doc: LoadedDocument) -> LoadedDocument | None:
        return self.base.get(identity(doc))


def changed_since(
    settings: Settings,
    paths: Sequence[str],
    ref: str,
    *,
    head: Iterable[LoadedDocument] | None = None,
    revision: Revision | None = None,
) -> BaseDiff:
    """Compare the documents of ``paths`` (``settings.manifests`` when empty) at ``ref`` with
    the working tree's. ``head``: the working tree's documents, when the caller loaded them
    already (every document of ``paths``, before any selection); else they are loaded here and
    must be valid (``ValidationFailed`` otherwise). ``revision``: ``ref`` as the caller found
    it already (``find_revision``), so git is not asked again."""
    paths = tuple(paths or settings.manifests)
    if revision is None:
        revision = find_revision(settings.root, ref)
    if head is None:
        head = _load_head(settings, paths)
    heads = {identity(doc): doc for doc in head}
    head_config = _config(settings.config_path)
    with tempfile.TemporaryDirectory(prefix="reconciler-base-") as scratch:
        tree = Path(scratch)
        write_tree(revision, tree, _scope(settings, paths, revision))
        base_config, full = _base_config(settings, revision, tree, head_config)
        full = full or _contract_change(settings, revision, tree)
        variables = settings.env.vars
        if base_config is not None and settings.environment in base_config.environments:
            variables = base_config.environments[settings.environment].vars
        documents, problems = _load_base(settings, paths, revision, tree, variables)
    base: dict[Identity, LoadedDocument] = {}
    for doc in documents:
        base.setdefault(identity(doc), doc)
    changed = frozenset(
        key
        for key, doc in heads.items()
        if key not in base or desired_state(base[key]) != desired_state(doc)
    )
    released = tuple(doc for key, doc in base.items() if key not in heads)
    if released and paths != tuple(settings.manifests):
        # Given paths are not every manifest: a document may have moved to another file.
        declared = _declared(settings, paths)
        released = tuple(doc for doc in released if identity(doc) not in declared)
    return BaseDiff(revision, changed, base, released, len(heads), full, tuple(problems))


def _load_head(settings: Settings, paths: Sequence[str]) -> list[LoadedDocument]:
    from reconciler.errors import ValidationFailed

    loader = ManifestLoader(list(paths), variables=settings.env.vars, root=settings.root)
    documents = [doc for loaded in loader for doc in loaded]
    problems = loader.finish()
    if problems:
        raise ValidationFailed(problems)
    return documents


def _declared(settings: Settings, paths: Sequence[str]) -> set[Identity]:
    """The targets every working-tree document of the configuration's manifests and of
    ``paths`` declares, as written; files that do not load declare nothing."""
    everywhere = list(dict.fromkeys([*settings.manifests, *paths]))
    loader = ManifestLoader(everywhere, variables=settings.env.vars, root=settings.root)
    found = {identity(doc) for loaded in loader for doc in loaded}
    loader.finish()
    return found


def _config(path: Path | None) -> ConfigFile:
    return load_config(path)[0] if path is not None else ConfigFile()


def _base_config(
    settings: Settings, revision: Revision, tree: Path, head: ConfigFile
) -> tuple[ConfigFile | None, str | None]:
    """The base's configuration, and why the run is a full one (None: only ``vars`` differ)."""
    shown = settings.config_path.name if settings.config_path else "reconciler.yaml"
    where = _at_base(settings.config_path or settings.root / shown, revision, tree)
    base: ConfigFile | None
    if where is None or not where.is_file():
        base = ConfigFile() if settings.config_path is None else None
        if base is None:
            return None, f"{shown} did not exist at {revision.ref}"
    else:
        try:
            base = load_config(where)[0]
        except ReconcilerError:
            return None, f"{shown} at {revision.ref} cannot be read"
    differing = _differences(_without_vars(base), _without_vars(head))
    if differing:
        return base, f"{shown} changed since {revision.ref} outside vars ({', '.join(differing)})"
    return base, None


def _contract_change(settings: Settings, revision: Revision, tree: Path) -> str | None:
    """Why the run is a full one when the environment's committed API contract (what
    ``probe`` proved, read by every plan) differs at the base; None when it does not."""
    head_path = contract_path(settings.root, settings.environment)
    base_path = _at_base(head_path, revision, tree)
    shown = os.path.relpath(head_path, settings.root)
    try:
        head = read_contract_file(head_path)
        base = read_contract_file(base_path) if base_path is not None else None
    except ReconcilerError:
        return f"{shown} at {revision.ref} cannot be read"
    if (head and head.contract) != (base and base.contract):
        return f"{shown} changed since {revision.ref}"
    return None


def _without_vars(config: ConfigFile) -> dict[str, object]:
    document = config.model_dump(mode="json")
    for environment in document["environments"].values():
        environment.pop("vars", None)
    return document


def _differences(old: object, new: object, at: str = "", limit: int = 3) -> list[str]:
    """Dotted paths where ``old`` and ``new`` differ, at most ``limit``."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new)):
            found += _differences(old.get(key), new.get(key), f"{at}.{key}" if at else key)
            if len(found) >= limit:
                return found[:limit]
        return found
    return [] if old == new else [at or "(top)"]


def _scope(settings: Settings, paths: Sequence[str], revision: Revision) -> list[str]:
    """What of the repository a run reads: the configuration's directory (templates are read
    only from inside it) and any path given outside it; empty when that is everything."""
    top = revision.toplevel.resolve()
    scope = []
    for path in (settings.root, *map(Path, paths)):
        try:
            inside = Path(os.path.abspath(path)).resolve().relative_to(top)
        except ValueError:
            continue
        if inside == Path():
            return []
        scope.append(inside.as_posix())
    return sorted(set(scope))


def _at_base(path: Path, revision: Revision, tree: Path) -> Path | None:
    """Where a working-tree path lies in the base's copy, or None outside the repository."""
    try:
        inside = Path(os.path.abspath(path)).resolve().relative_to(revision.toplevel.resolve())
    except ValueError:
        return None
    return tree / inside


def _load_base(
    settings: Settings,
    paths: Sequence[str],
    revision: Revision,
    tree: Path,
    variables: Mapping[str, str],
) -> tuple[list[LoadedDocument], list[str]]:
    """The base's valid documents (named as the working tree names their files); a file
    that does not load at the base contributes nothing, and its problems are kept."""
    root = _at_base(settings.root, revision, tree) or tree
    located = [_at_base(Path(p), revision, tree) for p in paths]
    present = [str(p) for p in located if p is not None and os.path.lexists(p)]
    if not present:
        return [], []
    loader = ManifestLoader(present, variables=variables, root=root)
    documents = [doc for loaded in loader for doc in loaded]
    top = revision.toplevel.resolve()

    def named(path: str) -> str:
        inside = Path(os.path.abspath(path)).relative_to(tree)
        return os.path.relpath(top / inside)

    problems = []
    for problem in loader.finish():
        try:
            problems.append(named(problem.path))
        except ValueError:  # a problem outside the base's copy (none is known)
            continue
    for doc in documents:
        doc.path = named(doc.path)
    return documents, sorted(set(problems))
