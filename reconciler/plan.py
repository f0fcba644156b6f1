"""The plan model (SPEC §4, §5): changes per target, the saved plan's JSON, the safety check.

Pure data and arithmetic: no I/O, no printing, no API calls. ``planner`` builds plans; ``render``
words them; a saved plan is exactly ``Plan.to_json()`` and loads back with ``Plan.from_json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Self, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.assumptions import COMPARED_FIELDS
from reconciler.desired import DesiredCommunication
from reconciler.errors import PlanError
from reconciler.errors import PlanFileError as PlanFileError
from reconciler.fingerprint import fingerprint as fingerprint

FORMAT_VERSION = 1
Action = Literal["create", "update", "deactivate", "noop"]
FieldName = Literal["sender", "subjectTemplate", "messageTemplate", "offsetDays", "active"]
Value = str | int | bool

REASON_REACTIVATION = "re-activation"
REASON_DUPLICATE = "live duplicate"
REASON_PRUNE = "not declared (prune)"
REASON_INACTIVE_NOT_LIVE = "declared inactive, not live: nothing to create"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def trusted(cls, **values: Any) -> Self:
        """An instance of values already known to be valid and consistent, without validation.

        Issue 9: a plan of 10,000 unchanged targets holds 40,000 noop changes. Validation costs
        CPU, and it gives every instance a set of its field names (728 bytes here) that outweighs
        the values. These instances share one set per class instead: the models are frozen, so
        nothing changes it in place (``model_copy`` copies it). ``Plan.from_json`` validates.
        """
        # cast: the pydantic mypy plugin types model_construct as returning _Model here.
        return cast(Self, cls.model_construct(_all_fields(cls), **values))


@cache
def _all_fields(cls: type[BaseModel]) -> set[str]:
    return set(cls.model_fields)


class Key(_Model):
    """A communication's match key within a target (SPEC §4)."""

    communicationType: str
    channelId: int

    def label(self, channels: Mapping[int, str] | None = None) -> str:
        """``START on EMAIL (channelId 2)``, or ``START on channelId 2`` without a channel name."""
        name = (channels or {}).get(self.channelId)
        if name:
            return f"{self.communicationType} on {name} (channelId {self.channelId})"
        return f"{self.communicationType} on channelId {self.channelId}"


class Snapshot(_Model):
    """A communication's writable fields at one moment (``before`` live, ``after`` written)."""

    communicationType: str
    channelId: int
    sender: str
    subjectTemplate: str
    messageTemplate: str
    offsetDays: int
    active: bool

    @property
    def key(self) -> Key:
        return Key(communicationType=self.communicationType, channelId=self.channelId)

    @classmethod
    def of(cls, source: Communication | DesiredCommunication) -> Snapshot:
        values = {name: getattr(source, name) for name in _SNAPSHOT_TYPES}
        if all(type(values[name]) is kind for name, kind in _SNAPSHOT_TYPES.items()):
            # Validation would return these values as they are (issue 9: no CPU, shared set).
            return cls.trusted(**values)
        return cls(**values)

    def compared(self) -> dict[str, Value]:
        """The compared fields of SPEC §4, in the SPEC's order."""
        return {name: getattr(self, name) for name in COMPARED_FIELDS}


# Each field's type (str, int or bool): values of exactly that type need no validation.
_SNAPSHOT_TYPES: dict[str, object] = {
    name: field.annotation for name, field in Snapshot.model_fields.items()
}


class Author(_Model):
    """Who last updated a live communication (from its ``attribution.lastUpdatedBy``)."""

    name: str | None = None
    code: str | None = None


class Change(_Model):
    """One planned action on one communication; ``id`` is the live id (none for a create)."""

    action: Action
    key: Key
    id: int | None = None
    before: Snapshot | None = None
    after: Snapshot | None = None
    fields: tuple[FieldName, ...] = ()
    reason: str | None = None
    source: str | None = None  # manifest position (path:line:column) of the declaration
    lastUpdatedBy: Author | None = None
    lastUpdatedOn: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Change:
        """Reject changes that could not have come from the planner (guards saved plans)."""
        problem = _inconsistency(self)
        if problem:
            raise ValueError(f"{self.action} {self.key.label()}: {problem}")
        return self

    @property
    def is_write(self) -> bool:
        """Whether apply sends this change (everything but a noop)."""
        return self.action != "noop"

    def write(self) -> CommunicationWrite:
        """The upsert element for this change: creates without ``id``, others with it."""
        if self.after is None or self.action == "noop":
            raise PlanError(f"{self.action} {self.key.label()} has nothing to write")
        return CommunicationWrite(id=self.id, **self.after.model_dump())


def _inconsistency(change: Change) -> str | None:
    """Why ``change`` is not one the planner could have built, or None."""
    key = (change.key.communicationType, change.key.channelId)
    for snap in (change.before, change.after):
        if snap is not None and (snap.communicationType, snap.channelId) != key:
            return "before/after belong to another key"
    if change.action == "create":
        if change.id is not None or change.before is not None or change.after is None:
            return "a create has no id and no before, and has an after"
        return None if change.after.active else "a create writes an active communication"
    if change.action == "noop":
        same = change.before is change.after or change.before == change.after
        return "a noop changes nothing" if change.fields or not same else None
    return _write_inconsistency(change)


def _write_inconsistency(change: Change) -> str | None:
    """The rules for an update or a deactivate, which rewrite a live row."""
    if change.id is None or change.before is None or change.after is None:
        return "needs an id, a before and an after"
    if not change.fields:
        return "changes no field"
    if change.action == "deactivate" and not (change.before.active and not change.after.active):
        return "a deactivate turns an active communication inactive"
    return None


class TargetPlan(_Model):
    """What one manifest document's target needs; an unreadable target has no changes."""

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

    @model_validator(mode="after")
    def _unreadable_has_no_changes(self) -> TargetPlan:
        if not self.readable and self.changes:
            raise ValueError(f"unreadable target {self.ref} cannot carry changes")
        if self.readable and self.fingerprint is None:
            raise ValueError(f"target {self.ref} has no fingerprint")
        return self

    @property
    def ref(self) -> tuple[int, int]:
        return (self.targetGroupId, self.targetId)

    @property
    def label(self) -> str:
        """``name (group/target)``, for messages."""
        ids = f"{self.targetGroupId}/{self.targetId}"
        return f"{self.name} ({ids})" if self.name else ids

    @property
    def has_changes(self) -> bool:
        return any(change.is_write for change in self.changes)

    def writes(self) -> list[CommunicationWrite]:
        """The body of this target's one upsert request (SPEC §6); empty when nothing changes."""
        return [change.write() for change in self.changes if change.is_write]

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)


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

    def changes(self) -> Iterator[Change]:
        for target in self.targets:
            yield from target.changes

    def all_warnings(self, *, unreadable: bool = True) -> list[str]:
        """Plan-level warnings, then each target's (prefixed with the target), in plan order;
        ``unreadable=False`` leaves out the ones saying a target could not be read."""
        return [*self.warnings, *_target_warnings(self.targets, unreadable=unreadable)]

    def to_json(self) -> str:
        """SPEC §5's document: canonical, byte-stable, with a trailing newline."""
        doc = self.model_dump(mode="json")
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
