"""A communication's key, its writable fields at one moment, and one planned Change (SPEC §4).

Pure frozen models, no I/O; ``reconciler.plan`` re-exports them with the models of whole plans.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.assumptions import COMPARED_FIELDS
from reconciler.desired import DesiredCommunication
from reconciler.errors import PlanError

Action = Literal["create", "update", "deactivate", "noop"]
# channelId changes only in a channel move that updates one row (an API matching by type).
FieldName = Literal[
    "sender", "subjectTemplate", "messageTemplate", "offsetDays", "active", "channelId"
]
Value = str | int | bool
# Where a field's difference comes from, against a git base (issue 18): this change, a live edit
# that applying overwrites, both (a conflict), or the change already made live (no write).
Origin = Literal["change", "live-edit", "conflict", "already-live"]


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
        # Issue 21: the instance's attributes are set one by one, in field order, instead of
        # handing pydantic a new dict (``model_construct``). CPython then keeps them in a
        # key-sharing dict, one key table per class: a noop Change and its Snapshot take
        # about 400 bytes instead of 1,200. Same values, same order, same fields set: equality,
        # ``model_dump`` and every output are unchanged (``tests/test_snapshot.py``).
        fields, defaults = _layout(cls)
        instance = cls.__new__(cls)
        for name in fields:
            value = values.pop(name) if name in values else defaults[name]
            _set(instance, name, value)
        if values:  # a typo in the planner, not data: model_construct would have dropped it
            raise TypeError(f"{cls.__name__}.trusted: unknown fields {sorted(values)}")
        _set(instance, "__pydantic_fields_set__", _all_fields(cls))
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance


_set = object.__setattr__


@cache
def _all_fields(cls: type[BaseModel]) -> set[str]:
    return set(cls.model_fields)


@cache
def _layout(cls: type[BaseModel]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The model's field names in order, and the defaults of the optional ones."""
    fields = tuple(cls.model_fields)
    defaults = {
        name: field.get_default(call_default_factory=False)
        for name, field in cls.model_fields.items()
        if not field.is_required()
    }
    if any(field.default_factory is not None for field in cls.model_fields.values()):
        raise TypeError(f"{cls.__name__}: trusted() takes no default factories")
    return fields, defaults


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
    origin: dict[FieldName, Origin] | None = None  # per field, only when a base is known

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

    def write(self, after: Snapshot | None = None) -> CommunicationWrite:
        """The upsert element for this change: creates without ``id``, others with it;
        ``after`` replaces what is written (``TargetPlan.after``: ignored fields kept live)."""
        after = after or self.after
        if after is None or self.action == "noop":
            raise PlanError(f"{self.action} {self.key.label()} has nothing to write")
        return CommunicationWrite(id=self.id, **after.model_dump())


def _inconsistency(change: Change) -> str | None:
    """Why ``change`` is not one the planner could have built, or None."""
    key = (change.key.communicationType, change.key.channelId)
    if change.after is not None and (change.after.communicationType, change.after.channelId) != key:
        return "before/after belong to another key"
    if (
        change.before is not None
        and (change.before.communicationType, change.before.channelId) != key
    ):
        moved = change.action == "update" and "channelId" in change.fields
        if not moved or change.before.communicationType != key[0]:
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
    if ("channelId" in change.fields) != (change.before.channelId != change.after.channelId):
        return "channelId is listed as changed exactly when it changes"
    if change.action == "deactivate" and not (change.before.active and not change.after.active):
        return "a deactivate turns an active communication inactive"
    return None
