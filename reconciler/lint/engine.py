"""Runs the lint rules over loaded manifest documents and words what they find as located
``Diagnostic``s, with each environment's levels, ``--strict`` and ignore comments applied.

Offline: reads manifest files again only to locate findings (``locate``); never the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.diagnostics import Diagnostic
from reconciler.lint.email import email_findings
from reconciler.lint.locate import IgnoreComment, Locator
from reconciler.lint.placeholders import (
    liquid_names,
    liquid_problem,
    scan,
    unknown_tags,
)
from reconciler.lint.push import push_findings
from reconciler.lint.rules import (
    RULES,
    ChannelKind,
    Field,
    Finding,
    Level,
    Severity,
    named_kind,
    unknown_rule,
)
from reconciler.lint.segments import DEFAULT_MAX_SEGMENTS, sms_findings
from reconciler.lint.senders import email_sender_problem

if TYPE_CHECKING:
    from reconciler.config import EnvironmentConfig
    from reconciler.manifests import LoadedDocument
    from reconciler.manifests.schema import CommunicationSpec

_PLACEHOLDER_RULES = {"syntax": "placeholder-syntax", "variable": "placeholder-variable"}


@dataclass(frozen=True)
class LintOptions:
    """One environment's lint settings (``reconciler.yaml``), and ``--strict``."""

    kinds: Mapping[int, ChannelKind] = field(default_factory=dict)
    max_segments: int = DEFAULT_MAX_SEGMENTS
    tags: frozenset[str] = frozenset()
    liquid: bool = False
    levels: Mapping[str, Level] = field(default_factory=dict)
    strict: bool = False
    variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, env: EnvironmentConfig, *, strict: bool = False) -> LintOptions:
        return cls(
            kinds=env.channel_kinds(),
            max_segments=env.maxSegments,
            tags=frozenset(env.tags),
            liquid=env.liquid,
            levels=dict(env.lint.rules),
            strict=strict,
            variables=dict(env.vars),
        )

    def severity(self, rule: str) -> Severity | None:
        """The rule's severity here; None when it is switched off."""
        level = self.levels.get(rule, RULES[rule].severity)
        if level == "off":
            return None
        return "error" if self.strict else level


def channel_kind(entry: CommunicationSpec, kinds: Mapping[int, ChannelKind]) -> ChannelKind | None:
    """``sms``, ``email`` or ``push`` by channel name, or by id through the environment's
    ``channels:``; None (no channel rules) for an id it does not map."""
    if entry.channel is not None:
        return named_kind(entry.channel)
    return kinds.get(entry.channelId) if entry.channelId is not None else None


def communication_findings(
    entry: CommunicationSpec, message: str, kind: ChannelKind | None, options: LintOptions
) -> Iterator[Finding]:
    """Every finding on one communication, before levels and ignore comments."""
    subject = entry.subjectTemplate
    if kind == "sms":
        yield from sms_findings(entry.sender, subject, message, options.max_segments)
    elif kind == "email":
        problem = email_sender_problem(entry.sender)
        if problem is not None:
            yield Finding("email-sender", problem, "sender")
        yield from email_findings(subject, message)
    elif kind == "push":
        yield from push_findings(subject, message)
    fields: tuple[tuple[Field, str], ...] = (
        ("subjectTemplate", subject),
        ("messageTemplate", message),
    )
    for name, text in fields:
        if kind == "sms" and name == "subjectTemplate":
            continue  # never sent: sms-subject says so once
        yield from placeholder_findings(text, name, options)


def placeholder_findings(text: str, name: Field, options: LintOptions) -> Iterator[Finding]:
    found = scan(text, liquid=options.liquid)
    for problem in found.problems:
        yield Finding(_PLACEHOLDER_RULES[problem.kind], problem.message, name, problem.index)
    if found.liquid_tags and not options.liquid:
        count = len(found.liquid_tags)
        more = f" (and {count - 1} more)" if count > 1 else ""
        yield Finding(
            "liquid-tag",
            f"Liquid tag '{{% … %}}'{more} needs liquid: true for this environment; "
            "without it the tag is sent as it is",
            name,
            found.liquid_tags[0],
        )
    local: set[str] = set()
    if options.liquid and ("{%" in text or "{{" in text):
        broken = liquid_problem(text)
        if broken is not None:
            starts = [0, *(i + 1 for i, ch in enumerate(text) if ch == "\n")]
            index = starts[min(broken.line, len(starts)) - 1]
            yield Finding(
                "liquid-syntax",
                f"Liquid cannot parse this template: {broken.message}",
                name,
                index,
            )
        local = liquid_names(text)
    for unknown in unknown_tags(found.tags, options.tags, local=local):
        yield Finding("placeholder-unknown", unknown.message, name, unknown.index, unknown.fix)


# A diagnostic with the communication it is about, as ``path:line:column`` of its entry (what
# a plan's ``Change.source`` says): plans show the warnings of the communications they change.
Located = tuple[str, Diagnostic]


class Linter:
    """Lints documents file by file, in the order given."""

    def __init__(self, options: LintOptions) -> None:
        self.options = options

    def check(self, documents: Iterable[LoadedDocument]) -> list[Located]:
        by_file: dict[str, list[LoadedDocument]] = {}
        for document in documents:
            by_file.setdefault(document.path, []).append(document)
        out: list[Located] = []
        for path, group in by_file.items():
            out.extend(self.check_file(path, group))
        return out

    def check_file(self, path: str, documents: Sequence[LoadedDocument]) -> list[Located]:
        """One manifest file's diagnostics, ordered by position (its template files last)."""
        found: list[tuple[LoadedDocument, int, Finding]] = []
        for document in documents:
            for index, entry in enumerate(document.model.communications):
                if not entry.active:
                    continue  # nobody receives it; lint runs again if it is re-activated
                kind = channel_kind(entry, self.options.kinds)
                message = document.message_templates[index]
                found.extend(
                    (document, index, f)
                    for f in communication_findings(entry, message, kind, self.options)
                )
        locator = Locator(path, self.options.variables)
        if not found and not locator.has_ignores:
            return []
        ignored: dict[tuple[int, int], set[str]] = {}
        out: list[Located] = []
        for document in documents:
            for comment in locator.ignores(document):
                ignored.setdefault((id(document), comment.entry), set()).update(comment.rules)
                entry_at = _entry_source(document, comment.entry)
                out.extend((entry_at, d) for d in self._unknown_rules(path, comment))
        for document, index, finding in found:
            if finding.rule in ignored.get((id(document), index), ()):
                continue
            diagnostic = self._diagnostic(locator, document, index, finding)
            if diagnostic is not None:
                out.append((_entry_source(document, index), diagnostic))
        return sorted(
            out, key=lambda x: (x[1].path != path, x[1].path, x[1].line, x[1].column, x[1].rule)
        )

    def _diagnostic(
        self, locator: Locator, document: LoadedDocument, index: int, finding: Finding
    ) -> Diagnostic | None:
        severity = self.options.severity(finding.rule)
        if severity is None:
            return None
        where = locator.where(document, index, finding)
        message, fix = finding.message, finding.fix or RULES[finding.rule].fix
        if where.variable:
            message += f" (from ${{{where.variable}}})"
            fix = f"change the value of ${{{where.variable}}} in the environment's vars"
        return Diagnostic(
            where.path, where.line, where.column, message, finding.rule, severity, fix
        )

    def _unknown_rules(self, path: str, comment: IgnoreComment) -> Iterator[Diagnostic]:
        severity = self.options.severity("ignore-comment")
        if severity is None:
            return
        for name in comment.rules:
            if name not in RULES:
                yield Diagnostic(
                    path,
                    comment.line,
                    comment.column,
                    f"ignore comment: {unknown_rule(name)}",
                    "ignore-comment",
                    severity,
                    RULES["ignore-comment"].fix,
                )


def _entry_source(document: LoadedDocument, index: int) -> str:
    return document.source(("communications", index)).render()


def lint_entries(documents: Iterable[LoadedDocument], options: LintOptions) -> list[Located]:
    """Every lint diagnostic of ``documents`` with the communication it is about."""
    return Linter(options).check(documents)


def lint_documents(documents: Iterable[LoadedDocument], options: LintOptions) -> list[Diagnostic]:
    """Every lint diagnostic of ``documents``, file by file in the order given."""
    return [diagnostic for _, diagnostic in Linter(options).check(documents)]


def counts(diagnostics: Sequence[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = sum(1 for d in diagnostics if d.is_error)
    return errors, len(diagnostics) - errors
