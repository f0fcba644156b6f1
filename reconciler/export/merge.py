"""Update an existing manifest in place from a freshly exported one (``export --force``).

Works on round-trip documents (``manifests.writer``), so comments and key order of entries
that still exist survive. Decides what changes; how YAML is written is the writer's business.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import ExportError
from reconciler.ignore import ignored_fields
from reconciler.manifests.interpolate import interpolate as _interpolate
from reconciler.manifests.templates import TemplateProblem, is_git_name, read_text_file
from reconciler.manifests.writer import RoundTrip
from reconciler.manifests.yamlstrict import YamlProblem

Entry = MutableMapping[str, object]


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    return _interpolate(text, variables)[0]


def _key(entry: Entry) -> tuple[object, object]:
    channel = entry.get("channel", entry.get("channelId"))
    return (entry.get("communicationType"), channel)


def _same_value(old: object, new: object, variables: Mapping[str, str]) -> bool:
    """Equal once ``${…}`` is interpolated: ``sender: ${sender}`` survives an export."""
    if isinstance(old, str) and isinstance(new, str):
        return interpolate(old, variables) == interpolate(new, variables)
    return old == new


def template_file_text(name: object, base_dir: Path | None) -> str | None:
    """The content of a ``messageTemplateFile`` as the loader reads it, or None (also for a
    file the loader would refuse: in a git directory, not a regular text file, too large)."""
    if not isinstance(name, str) or base_dir is None or "\0" in name:
        return None
    path = base_dir / name
    try:
        if any(is_git_name(part) for part in (*Path(name).parts, *path.resolve().parts)):
            return None
        return read_text_file(path)
    except (TemplateProblem, OSError, RuntimeError):
        return None


def merge_into(
    existing: str,
    exported: str,
    variables: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    ignore: Sequence[str] = (),
) -> str:
    """``existing`` with its target, prune and communications made to equal ``exported``'s.

    A value that already means the same (e.g. ``${sender}`` for the live sender) is kept as
    written, and so is a ``messageTemplateFile`` (relative to ``base_dir``) whose content is
    still the live template.

    The file's ``ignore:`` rules are kept, and so is every value they (with the environment's
    ``ignore``) leave to live edits: export does not make git the owner of a field it is not.
    """
    yaml = RoundTrip()
    try:
        old = yaml.load(existing)
    except YamlProblem as problem:
        raise ExportError(
            f"cannot update in place: the existing file is not valid YAML ({problem.message})"
        ) from None
    new = yaml.load(exported)
    assert isinstance(new, dict)  # export's own text: one manifest document
    if not isinstance(old, dict) or not isinstance(old.get("communications"), list):
        raise ExportError("cannot update in place: the existing file is not a manifest document")
    for name in ("apiVersion", "kind", "target", "prune"):
        if old.get(name) != new[name]:
            old[name] = new[name]
    rules = old.get("ignore")
    owned = Ownership(tuple(ignore), list(rules) if isinstance(rules, list) else [])
    _merge_communications(
        old["communications"], new["communications"], variables or {}, base_dir, owned
    )
    return yaml.dump(old)


@dataclass(frozen=True)
class Ownership:
    """The ``ignore:`` rules that apply to a file: the environment's and the document's."""

    environment: tuple[str, ...] = ()
    document: list[object] = field(default_factory=list)

    def kept(self, entry: Entry) -> set[str]:
        """The keys of ``entry`` export leaves as written: its rules and the fields they
        leave to live edits (a template file too, when the template is ignored)."""
        fields = set(ignored_fields(self.environment, self.document, entry))
        if "messageTemplate" in fields:
            fields.add("messageTemplateFile")
        return fields | {"ignore"}


def _merge_communications(
    entries: list[Entry],
    exported: list[Entry],
    variables: Mapping[str, str],
    base_dir: Path | None,
    owned: Ownership,
) -> None:
    """Drop the entries export did not write, update those it did, append the new ones. An
    entry whose ``active`` live edits own stays as written: switched off in the UI, it is not
    exported, yet git still declares it (dropped, the next plan's prune would deactivate it
    whenever the UI switched it on again)."""
    current = {_key(e): e for e in entries}
    wanted = {_key(e): e for e in exported}
    for index in reversed(range(len(entries))):
        if _key(entries[index]) not in wanted and "active" not in owned.kept(entries[index]):
            del entries[index]
    for key, entry in wanted.items():
        target = current.get(key)
        if target is None:
            entries.append(entry)
        else:
            _update_entry(target, entry, variables, base_dir, owned.kept(target))


def _update_entry(
    target: Entry,
    entry: Entry,
    variables: Mapping[str, str],
    base_dir: Path | None,
    kept: Collection[str] = (),
) -> None:
    """``target`` made to mean ``entry``, keeping each value that already means the same and
    every key in ``kept`` as it is written."""
    keep_file = template_file_text(target.get("messageTemplateFile"), base_dir) == entry.get(
        "messageTemplate"
    )
    for name in list(target):
        if name in kept:
            continue
        if name not in entry and not (keep_file and name == "messageTemplateFile"):
            del target[name]
    for name, value in entry.items():
        if (keep_file and name == "messageTemplate") or name in kept:
            continue
        if name not in target or not _same_value(target[name], value, variables):
            target[name] = value
