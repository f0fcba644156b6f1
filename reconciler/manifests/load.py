"""Load manifest files into validated documents, collecting every problem with its position.

Reads files only (manifests and message template files); never the network, never os.environ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from reconciler.desired import Source
from reconciler.diagnostics import Diagnostic
from reconciler.errors import UsageError
from reconciler.ignore import ignored_fields, written_key
from reconciler.manifests.checks import CrossDocumentChecks
from reconciler.manifests.interpolate import interpolate
from reconciler.manifests.paths import display, find_manifest_files
from reconciler.manifests.positions import Positions
from reconciler.manifests.reasons import collapse, describe
from reconciler.manifests.rules import duplicate_communication, repeats
from reconciler.manifests.schema import CommunicationSpec, TargetCommunications
from reconciler.manifests.templates import TemplateFiles, TemplateProblem
from reconciler.manifests.yamlstrict import (
    MAX_FILE_BYTES,
    Document,
    Path_,
    Pos,
    YamlProblem,
    decode,
    read_documents,
)


class Reporter(Protocol):
    """Records one problem at a path of the current document."""

    def __call__(self, at: Path_, message: str, *, key: bool = False) -> None: ...


@dataclass
class LoadedDocument:
    """A valid manifest document with the positions of what later stages report on."""

    model: TargetCommunications
    path: str
    positions: Positions
    message_templates: tuple[str, ...]  # messageTemplate or the file's content, per entry

    def position(self, at: Path_) -> Pos:
        return self.positions.position(at)

    def where(self, at: Path_) -> str:
        line, col = self.position(at)
        return f"{self.path}:{line}:{col}"

    def source(self, at: Path_ = ()) -> Source:
        line, col = self.position(at)
        return Source(self.path, line, col)

    def diagnostic(self, at: Path_, message: str) -> Diagnostic:
        line, col = self.position(at)
        return Diagnostic(self.path, line, col, message)


@dataclass
class LoadResult:
    documents: list[LoadedDocument] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diagnostics


class ManifestLoader:
    """Loads manifest files one at a time, so a planner can start on the first file's targets
    while the others are read; ``finish`` then gives every problem, sorted (issue 9).

    Cross-document rules run as documents arrive and keep only names and positions, so the
    loader itself holds no document (a caller that wants them all keeps them).
    """

    def __init__(
        self,
        paths: Sequence[str],
        *,
        variables: Mapping[str, str] | None = None,
        root: Path | None = None,
        ignore: Sequence[str] = (),
    ) -> None:
        if not paths:
            raise UsageError("no manifest paths given")
        self._variables = variables or {}
        self._ignore = tuple(ignore)  # the environment's ``ignore:`` rules
        self._root = (root or Path.cwd()).resolve()
        self._checks = CrossDocumentChecks()
        self._templates = TemplateFiles(self._root)
        self.files, self.diagnostics = find_manifest_files(paths, self._root)
        self.shown: list[str] = []

    def load(self, file: Path) -> list[LoadedDocument]:
        """The valid documents of ``file``; its problems join ``diagnostics``."""
        shown = display(file)
        self.shown.append(shown)
        result = LoadResult(diagnostics=self.diagnostics)
        _load_file(file, shown, self._variables, self._templates, result, self._ignore)
        self.diagnostics.extend(self._checks.add(result.documents))
        return result.documents

    def __iter__(self) -> Iterator[list[LoadedDocument]]:
        for file in self.files:
            yield self.load(file)

    def finish(self) -> list[Diagnostic]:
        """Every problem found, once each, in file order and then by position (template files
        git ignores are found here, with one git run for them all)."""
        self.diagnostics.extend(self._templates.finish())
        return sorted(set(self.diagnostics), key=_order(self.shown))


def load_manifests(
    paths: Sequence[str],
    *,
    variables: Mapping[str, str] | None = None,
    root: Path | None = None,
    ignore: Sequence[str] = (),
) -> LoadResult:
    """Read, interpolate and validate manifests; report every problem, not just the first."""
    loader = ManifestLoader(paths, variables=variables, root=root, ignore=ignore)
    result = LoadResult()
    for documents in loader:
        result.documents.extend(documents)
    result.files = loader.shown
    result.diagnostics = loader.finish()
    return result


def _order(files: list[str]) -> Callable[[Diagnostic], tuple[int, str, int, int, str]]:
    rank = {name: i for i, name in enumerate(files)}
    return lambda d: (rank.get(d.path, -1), d.path, d.line, d.column, d.message)


def _load_file(
    file: Path,
    shown: str,
    variables: Mapping[str, str],
    templates: TemplateFiles,
    result: LoadResult,
    ignore: Sequence[str] = (),
) -> None:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            result.diagnostics.append(
                Diagnostic(shown, 0, 0, f"file is {size:,} bytes; manifests are limited to 1 MiB")
            )
            return
        text = decode(file.read_bytes())
        documents = read_documents(text)
    except OSError as exc:
        result.diagnostics.append(Diagnostic(shown, 0, 0, f"cannot read file: {exc.strerror}"))
        return
    except YamlProblem as exc:
        result.diagnostics.append(Diagnostic(shown, exc.line, exc.col, exc.message))
        return
    if not documents:
        result.diagnostics.append(
            Diagnostic(shown, 1, 1, "file has no manifest documents (it is empty or only comments)")
        )
        return
    for document in documents:
        _load_document(document, file, shown, variables, templates, result, ignore)


def _load_document(
    document: Document,
    file: Path,
    shown: str,
    variables: Mapping[str, str],
    templates: TemplateFiles,
    result: LoadResult,
    ignore: Sequence[str] = (),
) -> None:
    problems = result.diagnostics
    before = len(problems)

    def report(at: Path_, message: str, *, key: bool = False) -> None:
        line, col = document.key_position(at) if key else document.position(at)
        problems.append(Diagnostic(shown, line, col, message))

    if document.value is None:
        report(
            (),
            "empty document: a manifest needs apiVersion, kind, metadata, target and communications",
        )
        return
    if not isinstance(document.value, dict):
        report((), f"a manifest document must be a mapping, found {describe(document.value)}")
        return
    data = _interpolate_tree(document.value, (), variables, report)
    errored: set[Path_] = set()
    model: TargetCommunications | None = None
    try:
        model = TargetCommunications.model_validate(data)
    except ValidationError as exc:
        for error in collapse(exc, document):
            at, message, key = error
            errored.add(at)
            report(at, message, key=key)
    for at, raw in sorted(document.ambiguous.items(), key=lambda item: document.position(item[0])):
        if at not in errored and not any(at[: len(e)] == e for e in errored if e):
            report(
                at,
                f"'{raw}' is read as a boolean or number by some YAML parsers; "
                f"quote the value ('{raw}')",
            )
    if model is None or len(problems) > before:
        return

    def locate(at: Path_) -> tuple[str, int, int]:
        return (shown, *document.position(at))

    texts = _entry_rules(model, file, templates, report, locate)
    _ignore_rules(model, ignore, report)
    if len(problems) == before:
        model = compact(model)
        positions = Positions(document, len(model.communications))
        result.documents.append(LoadedDocument(model, shown, positions, tuple(texts)))


# One set object per distinct set of field names (issue 21); see ``compact``.
_FIELD_SETS: dict[frozenset[str], set[str]] = {}


def compact(model: TargetCommunications) -> TargetCommunications:
    """``model`` in less memory, equal in every field (issue 21): each of its seven instances is
    rebuilt with its values set one by one, which CPython keeps in a dict sharing one key table
    per class, and one shared set of field names per distinct set. The models are frozen."""
    return _rebuilt(
        model,
        metadata=_rebuilt(model.metadata),
        target=_rebuilt(model.target),
        communications=[_rebuilt(entry) for entry in model.communications],
    )


def _rebuilt(part: _M, **replaced: object) -> _M:
    cls = type(part)
    new = cls.__new__(cls)
    for name, value in part.__dict__.items():
        _set(new, name, replaced.get(name, value))
    names = part.model_fields_set
    _set(new, "__pydantic_fields_set__", _FIELD_SETS.setdefault(frozenset(names), set(names)))
    _set(new, "__pydantic_extra__", part.__pydantic_extra__)
    _set(new, "__pydantic_private__", part.__pydantic_private__)
    return new


_set = object.__setattr__
_M = TypeVar("_M", bound=BaseModel)


def _interpolate_tree(
    value: object, at: Path_, variables: Mapping[str, str], report: Reporter
) -> object:
    if isinstance(value, str):
        text, problems = interpolate(value, variables)
        for problem in problems:
            report(at, problem)
        return text
    if isinstance(value, dict):
        return {k: _interpolate_tree(v, (*at, k), variables, report) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate_tree(v, (*at, i), variables, report) for i, v in enumerate(value)]
    return value


def _entry_rules(
    model: TargetCommunications,
    file: Path,
    files: TemplateFiles,
    report: Reporter,
    locate: Callable[[Path_], tuple[str, int, int]],
) -> list[str]:
    """Per-entry rules pydantic cannot express with positions: one-of pairs, files, keys.

    Returns each entry's message template (a template file's content, "" when unreadable).
    """
    templates: list[str] = []
    for i, entry in enumerate(model.communications):
        at: Path_ = ("communications", i)
        if entry.channel is not None and entry.channelId is not None:
            report((*at, "channelId"), "give either 'channel' or 'channelId', not both", key=True)
        elif entry.channel is None and entry.channelId is None:
            report(at, "missing 'channel' (a channel name) or 'channelId'")
        templates.append(_template(entry, at, file, files, report, locate))
    # The key as written: a channel named twice (or one id twice) is a duplicate whatever it
    # resolves to; a name and an id of one channel are only found by ``resolve``.
    channels = [e.channel if e.channel is not None else e.channelId for e in model.communications]
    keys = [
        (e.communicationType, channel) if channel is not None else None
        for e, channel in zip(model.communications, channels, strict=True)
    ]
    for index, first in repeats(keys):
        entry = model.communications[index]
        channel = channels[index]
        assert channel is not None  # repeats() skips entries with no key
        report(
            ("communications", index),
            duplicate_communication(entry.communicationType, channel, first),
        )
    return templates


def _ignore_rules(
    model: TargetCommunications, environment: Sequence[str], report: Reporter
) -> None:
    """The two contradictions an ``ignore:`` rule can write (docs/manifests.md): a field left to
    live edits that the entry also switches off (``active: false`` with ``active`` ignored), and
    a rule for a communication this document does not declare."""
    rules = [r if isinstance(r, str) else r.model_dump() for r in model.ignore]
    entries = [entry.model_dump() for entry in model.communications]
    for i, entry in enumerate(entries):
        if entry["active"] is False and "active" in ignored_fields(environment, rules, entry):
            report(
                ("communications", i, "active"),
                "'active: false' switches this communication off, but an ignore rule leaves "
                "'active' to live edits; git cannot own and disown it at once: drop one",
            )
    declared = {written_key(entry) for entry in entries}
    for j, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        if (rule["channel"] is None) == (rule["channelId"] is None):
            report(
                ("ignore", j),
                "an ignore rule names its communication by 'channel' or "
                "'channelId', exactly one of them",
            )
        elif written_key(rule) not in declared:
            kind, channel = written_key(rule)
            report(
                ("ignore", j),
                f"ignore rule for {kind} on channel {channel}, which this document does not "
                "declare: a rule covers declared communications only (name the channel as its "
                "entry does)",
            )


def _template(
    entry: CommunicationSpec,
    at: Path_,
    file: Path,
    files: TemplateFiles,
    report: Reporter,
    locate: Callable[[Path_], tuple[str, int, int]],
) -> str:
    """The entry's message template, with a problem reported unless exactly one of
    ``messageTemplate`` and ``messageTemplateFile`` is given."""
    if entry.messageTemplate is not None and entry.messageTemplateFile is not None:
        report(
            (*at, "messageTemplateFile"),
            "give either 'messageTemplate' or 'messageTemplateFile', not both",
            key=True,
        )
        return entry.messageTemplate
    if entry.messageTemplateFile is not None:
        name = entry.messageTemplateFile
        return _read_template(name, file, files, (*at, "messageTemplateFile"), report, locate)
    if entry.messageTemplate is None:
        report(at, "missing 'messageTemplate' (or 'messageTemplateFile')")
        return ""
    return entry.messageTemplate


def _read_template(
    name: str,
    file: Path,
    files: TemplateFiles,
    at: Path_,
    emit: Reporter,
    locate: Callable[[Path_], tuple[str, int, int]],
) -> str:
    """The content of a template file, or "" with the problem reported at the value."""
    try:
        text = files.read(name, file, locate(at))
    except TemplateProblem as problem:
        emit(at, f"messageTemplateFile '{name}' {problem}")
        return ""
    if not text:
        emit(at, f"messageTemplateFile '{name}' is empty")
    return text
