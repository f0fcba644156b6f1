"""``lint --fix``: replace the typographic characters that make an SMS UCS-2 with their GSM-7
equivalents, in place, in the manifest (through ``manifests.edit``: comments, key order and
layout kept) or in the template file.

Only a message the replacements make GSM-7 is changed: in a message that is UCS-2 anyway
(another script, an emoji) typography costs nothing. A character that came from a ``${var}``
is left for the configuration's owner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.lint.engine import LintOptions, channel_kind
from reconciler.lint.locate import Locator, value_at
from reconciler.lint.segments import measure
from reconciler.lint.sms import REPLACEMENTS, gsm7_fixed
from reconciler.manifests import LoadedDocument
from reconciler.manifests.edit import ValueEdit, edit_values
from reconciler.manifests.interpolate import origins
from reconciler.manifests.yamlstrict import decode


@dataclass
class FixReport:
    """What ``--fix`` changed, and what it could not."""

    files: list[str] = field(default_factory=list)
    characters: int = 0
    skipped: list[str] = field(default_factory=list)  # one reason per message left as it was


def fix_documents(documents: Iterable[LoadedDocument], options: LintOptions) -> FixReport:
    """Apply every GSM-7 replacement that makes an SMS GSM-7; write each changed file once."""
    report = FixReport()
    edits: dict[str, list[ValueEdit]] = {}
    templates: dict[Path, str] = {}
    locators: dict[str, Locator] = {}
    for document in documents:
        for index, entry in enumerate(document.model.communications):
            if not entry.active or channel_kind(entry, options.kinds) != "sms":
                continue
            message = document.message_templates[index]
            fixed = gsm7_fixed(message)
            if fixed is None or measure(message).encoding != "UCS-2":
                continue
            if entry.messageTemplateFile is not None:
                templates[Path(document.path).parent / entry.messageTemplateFile] = fixed
                continue
            locator = locators.setdefault(document.path, Locator(document.path, options.variables))
            edit = _value_edit(locator, document, index, message, options)
            if isinstance(edit, str):
                report.skipped.append(edit)
            else:
                edits.setdefault(document.path, []).append(edit)
    for shown, wanted in edits.items():
        _write_manifest(Path(shown), wanted, report)
    for path, text in templates.items():
        _write_template(path, text, report)
    return report


def _value_edit(
    locator: Locator, document: LoadedDocument, index: int, message: str, options: LintOptions
) -> ValueEdit | str:
    """The edit of one messageTemplate scalar, or why it cannot be made."""
    where = f"{document.where(('communications', index))}"
    parsed = locator.document(document)
    path = ("communications", index, "messageTemplate")
    if parsed is None or path not in parsed.values:
        return f"{where}: the file changed since it was read; not fixed"
    raw = value_at(parsed.value, path)
    if not isinstance(raw, str):
        return f"{where}: messageTemplate not found; not fixed"
    written = origins(raw, options.variables)
    replacements: dict[int, str] = {}
    for position, char in enumerate(message):
        if char in REPLACEMENTS:
            at, variable = written[position]
            if variable is not None:
                return f"{where}: {char!r} comes from ${{{variable}}}; fix it in reconciler.yaml"
            replacements[at] = REPLACEMENTS[char]
    return ValueEdit(parsed.values[path], raw, replacements)


def _write_manifest(path: Path, wanted: list[ValueEdit], report: FixReport) -> None:
    edits = list({edit.pos: edit for edit in wanted}.values())  # an anchor's message once
    data = path.read_bytes()
    text, failed = edit_values(decode(data), edits)
    for edit in failed:
        line, column = edit.pos
        report.skipped.append(f"{path}:{line}:{column}: could not be rewritten exactly; not fixed")
    done = [edit for edit in edits if edit not in failed]
    if done:
        _write(path, data, text)
        report.files.append(str(path))
        report.characters += sum(len(edit.replacements) for edit in done)


def _write_template(path: Path, fixed: str, report: FixReport) -> None:
    data = path.read_bytes()
    before = decode(data)
    if before == fixed:
        return
    report.characters += sum(1 for a in before if a in REPLACEMENTS)
    _write(path, data, fixed)
    report.files.append(str(path))


def _write(path: Path, before: bytes, text: str) -> None:
    """Write ``text`` in place of ``before``, keeping a byte-order mark the file had."""
    bom = b"\xef\xbb\xbf" if before.startswith(b"\xef\xbb\xbf") else b""
    path.write_bytes(bom + text.encode("utf-8"))
