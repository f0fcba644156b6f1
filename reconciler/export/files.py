"""Writing exported manifests: every file or none, and with ``force`` an existing file updated
in place (``merge``) only when that keeps its meaning exact. Reads no live state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.diagnostics import Diagnostic
from reconciler.errors import ExportError, ValidationFailed
from reconciler.export.exact import escape, plain_text
from reconciler.export.merge import Ownership, merge_into, template_file_text
from reconciler.ignore import written_key
from reconciler.manifests.interpolate import interpolate
from reconciler.manifests.yamlstrict import read_documents


@dataclass
class ExportedFile:
    """One manifest export would write: where, its text, and what to warn about it."""

    path: Path
    text: str
    warnings: list[str] = field(default_factory=list)
    # The target it declares, by id and by name: (group id, target id), (group, target names).
    ref: tuple[int, int] | None = None
    names: tuple[str, str] = ("", "")


def check_not_declared(
    files: Sequence[ExportedFile],
    manifests: Sequence[str],
    *,
    variables: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> None:
    """Refuse, before anything is written, to export a target that a manifest under the
    configured ``manifests`` already declares in another file: a second declaration would break
    the repository's next plan. Each problem names both files. The file export would write
    itself is ``write_files``'s (refused, or updated in place with ``force``). Manifests with
    problems are refused too: what their documents declare cannot be known."""
    from reconciler.manifests import ManifestLoader

    existing = [m for m in manifests if Path(m).exists()]
    if not existing or not files:
        return
    by_ref = {f.ref: f for f in files if f.ref is not None}
    loader = ManifestLoader(existing, variables=dict(variables or {}), root=root)
    problems: list[Diagnostic] = []
    for loaded in loader:
        for doc in loaded:
            for ref, file in by_ref.items():
                group, target = doc.model.target.targetGroup, doc.model.target.target
                if group not in (ref[0], file.names[0]) or target not in (ref[1], file.names[1]):
                    continue
                if Path(doc.path).resolve() == file.path.resolve():
                    continue
                line, column = doc.position(("target",))
                problems.append(
                    Diagnostic(
                        doc.path,
                        line,
                        column,
                        f"target {ref[1]} of group {ref[0]} is already declared here; export "
                        f"would declare it again in {file.path}; nothing was written (export "
                        "another --target-group, or remove this declaration first)",
                    )
                )
    # Problems of manifest files other than those export writes (one it updates in place with
    # ``force`` is write_files's to read); an empty directory is no problem here.
    read, writes = set(loader.shown), {f.path.resolve() for f in files}
    broken = [d for d in loader.finish() if d.path in read and Path(d.path).resolve() not in writes]
    if broken:
        # A document with a problem was not read, so whether it declares one of these targets
        # is unknown: refuse rather than risk a second declaration.
        where = ", ".join(existing)
        broken.append(
            Diagnostic(
                where,
                0,
                0,
                "export cannot check that no manifest declares what it would write until these "
                "problems are fixed (reconciler validate); nothing was written",
            )
        )
        raise ValidationFailed(broken)
    if problems:
        raise ValidationFailed(problems)


def write_files(
    files: Sequence[ExportedFile],
    *,
    force: bool,
    variables: Mapping[str, str] | None = None,
    ignore: Sequence[str] = (),
) -> list[Path]:
    """Write every file, or none: existing files are refused up front unless ``force``."""
    existing = [f.path for f in files if f.path.exists()]
    if existing and not force:
        shown = ", ".join(str(p) for p in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise ExportError(
            f"{len(existing)} file(s) already exist ({shown}{more}); "
            "pass --force to update them in place. Nothing was written"
        )
    written = []
    for file in files:
        file.path.parent.mkdir(parents=True, exist_ok=True)
        text = _updated(file, variables or {}, ignore) if file.path.exists() else file.text
        file.path.write_text(text, encoding="utf-8")
        written.append(file.path)
    return written


def _updated(file: ExportedFile, variables: Mapping[str, str], ignore: Sequence[str] = ()) -> str:
    """The existing file merged with the export, or the export itself when the merge would
    not read exactly as the export (or would not be plain text): never trade exactness for
    comments."""
    base = file.path.parent
    text = merge_into(file.path.read_text(encoding="utf-8"), file.text, variables, base, ignore)
    if not plain_text(text) or not _same_content(text, file.text, variables, base, ignore):
        return file.text
    return text


def _same_content(
    merged: str,
    exported: str,
    variables: Mapping[str, str],
    base_dir: Path | None = None,
    ignore: Sequence[str] = (),
) -> bool:
    """Everything but ``metadata`` (which the user may have renamed or labelled) reads the same
    once ``${…}`` is interpolated and template files are read, as the planner will read it;
    ``ignore:`` rules and the values they leave to live edits are not compared."""
    try:
        a, b = read_documents(merged), read_documents(exported)
    except Exception:
        return False
    if len(a) != 1 or not isinstance(a[0].value, dict) or a[0].ambiguous:
        return False
    _without_owned(a[0].value, b[0].value, ignore)
    _inline_template_files(a[0].value, base_dir)
    mine, theirs = _interpolated(a[0].value, variables), _interpolated(b[0].value, variables)
    assert isinstance(mine, dict)
    assert isinstance(theirs, dict)
    return {k: v for k, v in mine.items() if k != "metadata"} == {
        k: v for k, v in theirs.items() if k != "metadata"
    }


def _without_owned(merged: dict[str, object], exported: object, ignore: Sequence[str]) -> None:
    """Leave out of both documents what export keeps as written: the rules and, per entry,
    the fields they leave to live edits (``merge.Ownership``)."""
    rules = merged.pop("ignore", None)
    owned = Ownership(tuple(ignore), list(rules) if isinstance(rules, list) else [])
    theirs = exported.get("communications") if isinstance(exported, dict) else None
    by_key = (
        {written_key(e): e for e in theirs if isinstance(e, dict)}
        if isinstance(theirs, list)
        else {}
    )
    entries = merged.get("communications")
    if isinstance(entries, list):  # kept as written, not exported (``merge`` keeps them)
        entries[:] = [
            e
            for e in entries
            if not isinstance(e, dict) or written_key(e) in by_key or "active" not in owned.kept(e)
        ]
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        kept = owned.kept(entry)
        other = by_key.get(written_key(entry), {})
        for name in kept:
            entry.pop(name, None)
            other.pop(name, None)
            if name == "messageTemplate":
                other.pop("messageTemplateFile", None)


def _inline_template_files(document: dict[str, object], base_dir: Path | None) -> None:
    """Replace each readable ``messageTemplateFile`` with the ``messageTemplate`` it stands for
    (template files are used verbatim, with no ``${…}``: SPEC §3)."""
    entries = document.get("communications")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and "messageTemplateFile" in entry:
            text = template_file_text(entry["messageTemplateFile"], base_dir)
            if text is not None:
                del entry["messageTemplateFile"]
                entry["messageTemplate"] = escape(text)  # verbatim once interpolated


def _interpolated(value: object, variables: Mapping[str, str]) -> object:
    if isinstance(value, str):
        return interpolate(value, variables)[0]
    if isinstance(value, dict):
        return {k: _interpolated(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolated(v, variables) for v in value]
    return value
