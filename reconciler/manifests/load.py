"""Load manifest files into validated documents, collecting every problem with its position.

Reads files only (manifests and message template files); never the network, never os.environ.
"""

from __future__ import annotations

import difflib
import os
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from reconciler.desired import Source
from reconciler.diagnostics import Diagnostic
from reconciler.errors import UsageError
from reconciler.manifests.checks import CrossDocumentChecks
from reconciler.manifests.interpolate import interpolate
from reconciler.manifests.schema import FIELD_NAMES, TargetCommunications
from reconciler.manifests.templates import TemplateFiles, TemplateProblem, leads_outside
from reconciler.manifests.yamlstrict import (
    MAX_FILE_BYTES,
    Document,
    Path_,
    Pos,
    YamlProblem,
    decode,
    read_documents,
)

MANIFEST_SUFFIXES = (".yaml", ".yml")


class Reporter(Protocol):
    """Records one problem at a path of the current document."""

    def __call__(self, at: Path_, message: str, *, key: bool = False) -> None: ...


# The paths later stages point at (resolution and cross-document problems): the document, its
# name and target reference, and each communication entry with its channel reference.
_FIXED_PATHS: tuple[Path_, ...] = (
    (),
    ("metadata", "name"),
    ("target",),
    ("target", "targetGroup"),
    ("target", "target"),
)
_FIXED_SLOTS = {path: slot for slot, path in enumerate(_FIXED_PATHS)}
_ENTRY_FIELDS = ("channel", "channelId")  # slot 0 of an entry is the entry itself


def _slot(path: Path_, entries: int) -> int | None:
    if path in _FIXED_SLOTS:
        return _FIXED_SLOTS[path]
    if len(path) in (2, 3) and path[0] == "communications" and isinstance(path[1], int):
        index = path[1]
        if not 0 <= index < entries:
            return None
        base = len(_FIXED_PATHS) + index * (1 + len(_ENTRY_FIELDS))
        if len(path) == 2:
            return base
        if path[2] in _ENTRY_FIELDS:
            return base + 1 + _ENTRY_FIELDS.index(str(path[2]))
    return None


class Positions:
    """Where the parts of a valid document that later stages point at were written.

    A parsed document's full position maps cost about 25 KB; once it has been validated only
    these few positions are ever asked for, so they are kept as one array of about 150 bytes
    (issue 9: 10,000 targets within 300 MB). Other paths fall back to their closest kept parent.
    """

    __slots__ = ("_at", "_entries")

    def __init__(self, document: Document, entries: int) -> None:
        self._entries = entries
        self._at = array("I")
        for path in _FIXED_PATHS:
            self._at.extend(document.position(path))
        for index in range(entries):
            entry: Path_ = ("communications", index)
            self._at.extend(document.position(entry))
            for name in _ENTRY_FIELDS:
                self._at.extend(document.position((*entry, name)))

    def position(self, path: Path_) -> Pos:
        slot = _slot(path, self._entries)
        while slot is None:
            path = path[:-1]
            slot = _slot(path, self._entries)
        return (self._at[2 * slot], self._at[2 * slot + 1])


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


def find_manifest_files(
    paths: Iterable[str], root: Path | None = None
) -> tuple[list[Path], list[Diagnostic]]:
    """Expand files and directories (recursively, sorted) into manifest files.

    With ``root``, a file found in a directory through a link that leads out of both that
    directory and ``root`` is a problem, not a manifest: a pull request adding
    ``manifests/x.yaml -> ~/.netrc`` must not get that file's content quoted back in error
    messages (SPEC §7). Files and directories given by name are read wherever they are.
    """
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in MANIFEST_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                problems.append(
                    Diagnostic(given, 0, 0, "no manifests (*.yaml, *.yml) in this directory")
                )
            if root is not None:
                inside = path.resolve()
                outside = [f for f in files if leads_outside(f, inside, root)]
                problems.extend(
                    Diagnostic(
                        _display(f),
                        0,
                        0,
                        "is a link to a file outside the repository; manifests are read only "
                        "from inside it",
                    )
                    for f in outside
                )
                files = [f for f in files if f not in outside]
            found.extend(files)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            problems.append(Diagnostic(given, 0, 0, "not a regular file or directory"))
        else:
            problems.append(Diagnostic(given, 0, 0, "no such file or directory"))
    unique = list(dict.fromkeys(found))
    return unique, problems


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
    ) -> None:
        if not paths:
            raise UsageError("no manifest paths given")
        self._variables = variables or {}
        self._root = (root or Path.cwd()).resolve()
        self._checks = CrossDocumentChecks()
        self._templates = TemplateFiles(self._root)
        self.files, self.diagnostics = find_manifest_files(paths, self._root)
        self.shown: list[str] = []

    def load(self, file: Path) -> list[LoadedDocument]:
        """The valid documents of ``file``; its problems join ``diagnostics``."""
        shown = _display(file)
        self.shown.append(shown)
        result = LoadResult(diagnostics=self.diagnostics)
        _load_file(file, shown, self._variables, self._templates, result)
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
) -> LoadResult:
    """Read, interpolate and validate manifests; report every problem, not just the first."""
    loader = ManifestLoader(paths, variables=variables, root=root)
    result = LoadResult()
    for documents in loader:
        result.documents.extend(documents)
    result.files = loader.shown
    result.diagnostics = loader.finish()
    return result


def _order(files: list[str]) -> Callable[[Diagnostic], tuple[int, str, int, int, str]]:
    rank = {name: i for i, name in enumerate(files)}
    return lambda d: (rank.get(d.path, -1), d.path, d.line, d.column, d.message)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _load_file(
    file: Path,
    shown: str,
    variables: Mapping[str, str],
    templates: TemplateFiles,
    result: LoadResult,
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
        _load_document(document, file, shown, variables, templates, result)


def _load_document(
    document: Document,
    file: Path,
    shown: str,
    variables: Mapping[str, str],
    templates: TemplateFiles,
    result: LoadResult,
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
        report((), f"a manifest document must be a mapping, found {_describe(document.value)}")
        return
    data = _interpolate_tree(document.value, (), variables, report)
    errored: set[Path_] = set()
    model: TargetCommunications | None = None
    try:
        model = TargetCommunications.model_validate(data)
    except ValidationError as exc:
        for error in _collapse(exc, document):
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
    if len(problems) == before:
        positions = Positions(document, len(model.communications))
        result.documents.append(LoadedDocument(model, shown, positions, tuple(texts)))


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
    """Per-entry rules pydantic cannot express with positions: one-of pairs, files, keys."""
    emit = report
    templates: list[str] = []
    seen: dict[tuple[str, int | str], int] = {}
    for i, entry in enumerate(model.communications):
        at: Path_ = ("communications", i)
        if entry.channel is not None and entry.channelId is not None:
            emit((*at, "channelId"), "give either 'channel' or 'channelId', not both", key=True)
        elif entry.channel is None and entry.channelId is None:
            emit(at, "missing 'channel' (a channel name) or 'channelId'")
        if entry.messageTemplate is not None and entry.messageTemplateFile is not None:
            emit(
                (*at, "messageTemplateFile"),
                "give either 'messageTemplate' or 'messageTemplateFile', not both",
                key=True,
            )
            templates.append(entry.messageTemplate)
        elif entry.messageTemplateFile is not None:
            templates.append(
                _read_template(
                    entry.messageTemplateFile,
                    file,
                    files,
                    (*at, "messageTemplateFile"),
                    emit,
                    locate,
                )
            )
        elif entry.messageTemplate is None:
            emit(at, "missing 'messageTemplate' (or 'messageTemplateFile')")
            templates.append("")
        else:
            templates.append(entry.messageTemplate)
        channel = entry.channel if entry.channel is not None else entry.channelId
        if channel is not None:
            key = (entry.communicationType, channel)
            if key in seen:
                emit(
                    at,
                    f"duplicate communication {entry.communicationType} on channel {channel} "
                    f"(also entry {seen[key] + 1} of this target); one per type per channel",
                )
            else:
                seen[key] = i
    return templates


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


def _describe(value: object) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _collapse(exc: ValidationError, document: Document) -> list[tuple[Path_, str, bool]]:
    """Turn pydantic's errors into (path, one-line reason, point-at-key) triples."""
    out: dict[Path_, tuple[str, bool]] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        # Union members add their type name to loc ('int', 'str'); trim to a real data path.
        at: Path_ = loc
        while at and at not in document.values and kind not in ("missing", "extra_forbidden"):
            at = at[:-1]
        if kind == "missing":
            at = loc
        name = str(loc[-1]) if loc else "document"
        value = error.get("input")
        key = False
        if kind == "missing":
            message = f"missing required field '{name}'"
            at = loc[:-1]
        elif kind == "extra_forbidden":
            message = _unknown_field(loc)
            key = True
        elif at in out and out[at][0].startswith(f"{name} must be"):
            continue
        elif kind in ("int_type", "string_type") and len(loc) > len(at):
            field_name = str(at[-1])
            message = f"{field_name} must be an id (integer) or an exact name (string), found {_describe(value)}"
        elif kind == "string_type":
            message = f"{name} must be a string, found {_describe(value)}"
            raw = document.plain_non_strings.get(at)
            if raw is not None:
                message += f"; quote the value ('{raw}')"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            message = f"{name} must be an integer, found {_describe(value)}"
        elif kind == "bool_type":
            message = f"{name} must be true or false, found {_describe(value)}"
        elif kind == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            message = f"{name} must be one of {expected}, found {_describe(value)}"
            if isinstance(value, str):
                options = [o.strip(" '") for o in str(expected).replace(" or ", ",").split(",")]
                close = difflib.get_close_matches(value.upper(), options, n=1)
                if close:
                    message += f"; did you mean '{close[0]}'?"
        elif kind == "greater_than_equal":
            message = f"{name} must be 0 or more, found {_describe(value)}"
        elif kind == "string_too_short":
            message = f"{name} must not be empty"
        elif kind == "string_too_long":
            message = (
                f"{name} is too long (at most {error.get('ctx', {}).get('max_length')} characters)"
            )
        elif kind in ("dict_type", "model_type"):
            message = f"{name} must be a mapping, found {_describe(value)}"
        elif kind == "list_type":
            message = f"{name} must be a list, found {_describe(value)}"
        else:
            message = f"{name}: {error['msg']}"
        out.setdefault(at, (message, key))
    return [(at, message, key) for at, (message, key) in out.items()]


def _unknown_field(loc: tuple[str | int, ...]) -> str:
    name = str(loc[-1])
    context = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), "")
    known = FIELD_NAMES.get(context, ())
    message = f"unknown field '{name}'"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        close = [k for k in known if k.lower() == name.lower()]
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    return f"{message}; expected one of: {', '.join(known)}"
