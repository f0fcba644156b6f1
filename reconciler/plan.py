"""The plan model (SPEC §4, §5): changes per target, the saved plan's JSON, the safety check.

Pure data and arithmetic: no I/O, no printing, no API calls. ``planner`` builds plans; ``render``
words them; a saved plan is exactly ``Plan.to_json()`` and loads back with ``Plan.from_json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import Field, ValidationError, model_validator

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.contract import Contract
from reconciler.errors import PlanFileError as PlanFileError
from reconciler.fingerprint import fingerprint as fingerprint
from reconciler.snapshot import Action as Action
from reconciler.snapshot import Author as Author
from reconciler.snapshot import Change as Change
from reconciler.snapshot import FieldName as FieldName
from reconciler.snapshot import Key as Key
from reconciler.snapshot import Origin as Origin
from reconciler.snapshot import Snapshot as Snapshot
from reconciler.snapshot import Value as Value
from reconciler.snapshot import _Model

FORMAT_VERSION = 1

REASON_REACTIVATION = "re-activation"
REASON_DUPLICATE = "live duplicate"
REASON_PRUNE = "not declared (prune)"
REASON_INACTIVE_NOT_LIVE = "declared inactive, not live: nothing to create"
REASON_HIDDEN_INACTIVE = (
    "a new row: this API lists no inactive rows, so a paused one cannot be re-activated"
)


class NamedTarget:
    """``ref`` and ``label`` of a model that names a target by its two ids and a ``name``
    (plans, released targets, run reports, canary repair records)."""

    if TYPE_CHECKING:
        targetGroupId: int
        targetId: int
        name: str

    @property
    def ref(self) -> tuple[int, int]:
        return (self.targetGroupId, self.targetId)

    @property
    def label(self) -> str:
        """``name (group/target)``, for messages."""
        ids = f"{self.targetGroupId}/{self.targetId}"
        return f"{self.name} ({ids})" if self.name else ids


class Ignored(_Model):
    """The compared fields of one key that the manifests leave to live edits (``ignore:``)."""

    key: Key
    fields: tuple[FieldName, ...]


class TargetPlan(NamedTarget, _Model):
    """What one manifest document's target needs; an unreadable target has no changes.

    ``ignored`` is what ``reconciler.ignore`` decided for this target's keys, recorded so that
    apply, the fingerprint and a saved plan's staleness check use that same answer; ``info``
    holds the lines that show ignored fields whose live value differs.
    """

    targetGroupId: int
    targetId: int
    targetGroupName: str = ""
    targetName: str = ""
    manifest: str = ""
    name: str = ""
    fingerprint: str | None = None
    activeLive: int = 0  # active live communications read (the safety check's denominator)
    readable: bool = True
    error: str | None = None
    warnings: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    info: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _unreadable_has_no_changes(self) -> TargetPlan:
        if not self.readable and self.changes:
            raise ValueError(f"unreadable target {self.ref} cannot carry changes")
        if self.readable and self.fingerprint is None:
            raise ValueError(f"target {self.ref} has no fingerprint")
        return self

    @property
    def has_changes(self) -> bool:
        return any(change.is_write for change in self.changes)

    def ignored_fields(self) -> dict[tuple[str, int], tuple[str, ...]]:
        """Per key ``(communicationType, channelId)``, the fields live edits own."""
        return {(i.key.communicationType, i.key.channelId): i.fields for i in self.ignored}

    def matches(self, live: Sequence[Communication]) -> bool:
        """Whether ``live`` is still the state this target was planned against, ignored
        fields left out (an edit to one of them never makes a plan stale)."""
        return fingerprint(live, self.ignored_fields()) == self.fingerprint

    def after(self, change: Change, row: Communication | None) -> Snapshot | None:
        """What ``change`` writes to the live ``row`` it concerns: its ignored fields take the
        row's current value, so a live edit made since planning is never written over."""
        after = change.after
        rules = self.ignored_fields().get((change.key.communicationType, change.key.channelId))
        # What the change itself sets is planned, not ignored: a live duplicate of a key whose
        # ``active`` is ignored is still deactivated (a declared key has one active row).
        fields = [name for name in rules or () if name not in change.fields]
        if after is None or row is None or not fields or change.action == "create":
            return after
        return after.model_copy(update={name: getattr(row, name) for name in fields})

    def writes(self, live: Sequence[Communication] | None = None) -> list[CommunicationWrite]:
        """The body of this target's one upsert request (SPEC §6); empty when nothing changes.
        With ``live`` (the rows the writes start from), ignored fields keep their live value."""
        if not self.ignored or live is None:
            return [change.write() for change in self.changes if change.is_write]
        by_id = {row.id: row for row in live}
        return [
            change.write(self.after(change, by_id.get(change.id) if change.id else None))
            for change in self.changes
            if change.is_write
        ]

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)


class BaseInfo(_Model):
    """The git base a plan was labelled against (issue 18): ``--changed-since`` or ``--base``."""

    ref: str
    commit: str
    changedSince: bool  # only the documents changed since the base were planned
    documents: int = 0  # documents selected in the working tree
    changedDocuments: int = 0  # of them, changed since the base
    full: str | None = None  # why every document was planned after all


class ReleasedTarget(NamedTarget, _Model):
    """A target whose document was deleted since the base: no longer managed, never written."""

    targetGroupId: int
    targetId: int
    name: str = ""
    manifest: str = ""
    activeLive: int = 0
    readable: bool = True
    error: str | None = None


@dataclass(frozen=True)
class Summary:
    """Counts of planned actions over a plan."""

    create: int = 0
    update: int = 0
    deactivate: int = 0
    noop: int = 0

    @property
    def changes(self) -> int:
        return self.create + self.update + self.deactivate

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("create", "update", "deactivate", "noop")}


class Plan(_Model):
    """A whole plan: targets sorted by (group, target), plus warnings not tied to one target."""

    environment: str
    generatedAt: str
    targets: tuple[TargetPlan, ...] = ()
    warnings: tuple[str, ...] = ()
    channels: dict[int, str] = Field(default_factory=dict)  # id -> name, for readable output
    # The API contract it was planned under, when that is not the assumptions (SPEC §9);
    # left out of the JSON when it is, so a default plan's document is as it always was.
    contract: Contract | None = None
    # With a git base (issue 18); both left out of the JSON without one.
    base: BaseInfo | None = None
    released: tuple[ReleasedTarget, ...] = ()

    @model_validator(mode="after")
    def _one_entry_per_target(self) -> Plan:
        refs = [target.ref for target in self.targets]
        if len(set(refs)) != len(refs):
            raise ValueError("a target appears more than once")
        return self

    @property
    def summary(self) -> Summary:
        counts = {"create": 0, "update": 0, "deactivate": 0, "noop": 0}
        for change in self.changes():
            counts[change.action] += 1
        return Summary(**counts)

    @property
    def has_changes(self) -> bool:
        return any(target.has_changes for target in self.targets)

    @property
    def unreadable(self) -> list[TargetPlan]:
        return [target for target in self.targets if not target.readable]

    @property
    def changed_targets(self) -> list[TargetPlan]:
        return [target for target in self.targets if target.has_changes]

    @property
    def active_live(self) -> int:
        return sum(target.activeLive for target in self.targets if target.readable)

    @property
    def upsert_requests(self) -> int:
        """The upsert requests apply sends (SPEC §6): one per changed target, or one per
        changed communication when the API takes one object per request."""
        if self.contract is not None and self.contract.body != "array":
            return sum(1 for change in self.changes() if change.is_write)
        return len(self.changed_targets)

    def changes(self) -> Iterator[Change]:
        for target in self.targets:
            yield from target.changes

    def origins(self, *wanted: Origin) -> list[tuple[TargetPlan, Change, FieldName]]:
        """Every written field whose origin is one of ``wanted``, in plan order."""
        return [
            (target, change, name)
            for target in self.targets
            for change in target.changes
            if change.is_write and change.origin
            for name, origin in change.origin.items()
            if origin in wanted
        ]

    def all_warnings(self, *, unreadable: bool = True) -> list[str]:
        """Plan-level warnings, then each target's (prefixed with the target), in plan order;
        ``unreadable=False`` leaves out the ones saying a target could not be read."""
        return [*self.warnings, *_target_warnings(self.targets, unreadable=unreadable)]

    def all_info(self) -> list[str]:
        """Each target's info lines (ignored fields that differ), prefixed with the target."""
        return [f"{t.label}: {line}" for t in self.targets for line in t.info]

    def to_json(self) -> str:
        """SPEC §5's document: canonical, byte-stable, with a trailing newline."""
        doc = self.model_dump(mode="json")
        if self.contract is None:
            del doc["contract"]
        for name in ("base", "released"):
            if not doc[name]:
                del doc[name]
        for target in doc["targets"]:
            for change in target["changes"]:
                if change["origin"] is None:
                    del change["origin"]
        for target in doc["targets"]:  # only where a rule applies: other plans read as before
            for name in ("ignored", "info"):
                if not target[name]:
                    del target[name]
        doc["formatVersion"] = FORMAT_VERSION
        doc["summary"] = self.summary.as_dict()
        doc["warnings"] = self.all_warnings()
        text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False)
        return _inert_json(text) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Plan:
        """Load a saved plan, refusing anything ``to_json`` could not have written."""
        return _load(cls, text)


def _target_warnings(targets: Sequence[TargetPlan], *, unreadable: bool = True) -> Iterator[str]:
    for target in targets:
        if unreadable and not target.readable:
            yield f"{target.label}: could not read live state ({target.error}); nothing planned"
        for warning in target.warnings:
            yield f"{target.label}: {warning}"


# Characters that JSON allows raw but a terminal or a GitHub log would act on: C1 controls,
# line separators and bidi overrides. They only occur inside strings, so escaping is lossless.
_UNSAFE_JSON_CHARS = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _inert_json(text: str) -> str:
    text = _UNSAFE_JSON_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    # "##[" anywhere in a log line is a legacy workflow command; "[" can be written \u005b.
    return text.replace("##[", "##\\u005b")


def _load(cls: type[Plan], text: str | bytes) -> Plan:
    # A document nested deeper than the interpreter recurses (200,000 "[") is no plan; nor
    # is one too large for memory. Neither may surface as anything but PlanFileError.
    try:
        return _parse(cls, text)
    except RecursionError:
        raise PlanFileError("saved plan is not a reconciler plan (nested too deeply)") from None
    except MemoryError:
        raise PlanFileError("saved plan is too large to load") from None


def _parse(cls: type[Plan], text: str | bytes) -> Plan:
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"saved plan is not valid JSON: {_short(str(exc))}") from None
    if not isinstance(raw, dict):
        raise PlanFileError("saved plan is not a reconciler plan (expected a JSON object)")
    version = raw.pop("formatVersion", None)
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise PlanFileError(
            f"saved plan has formatVersion {json.dumps(version)}; this reconciler reads "
            f"formatVersion {FORMAT_VERSION} (re-plan with this version)"
        )
    summary = raw.pop("summary", None)
    listed = raw.get("warnings", [])
    try:
        plan = cls.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        raise PlanFileError(f"saved plan is malformed: {_first_errors(exc)}") from None
    derived = set(_target_warnings(plan.targets))
    plan = plan.model_copy(update={"warnings": tuple(w for w in listed if w not in derived)})
    if summary != plan.summary.as_dict():
        raise PlanFileError("saved plan is malformed: summary missing or not matching its changes")
    return plan


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in errors[:limit]
    )
    more = len(errors) - limit
    return shown + (f" (and {more} more problem{'s' if more != 1 else ''})" if more > 0 else "")


def check_safety(plan: Plan, max_deactivate_percent: float = 25) -> str | None:
    """SPEC §6: why ``apply`` must refuse this plan without ``--force``, or None if it may run.

    "Managed" communications are the active live ones in the readable targets the plan
    covers. Refuse when deactivations exceed the percentage of them *and* number more than 2.
    Live duplicates of a declared key count on neither side: their deactivation leaves the
    key's message live, and it is always planned (issue 14 item 7: a declared key has exactly
    one active row), so the threshold must not stand in its way.
    """
    duplicates = sum(
        1
        for change in plan.changes()
        if change.action == "deactivate" and change.reason == REASON_DUPLICATE
    )
    deactivations = plan.summary.deactivate - duplicates
    managed = plan.active_live - duplicates
    if deactivations <= 2 or deactivations * 100 <= max_deactivate_percent * managed:
        return None
    share = 100 * deactivations / managed if managed else 100.0
    return (
        f"plan would deactivate {deactivations} of {managed} active managed communications "
        f"({share:.1f}%), above maxDeactivatePercent {max_deactivate_percent:g}%; "
        "re-run with --force to apply it anyway"
    )
