"""Three-way origin labels (issue 18): whose is each planned difference?

For every field a planned change writes, compare three values: the desired state at the git
base, the desired state in the working tree (head) and the live state:

- ``change``: live equals the base, the head changes it (this pull request's change);
- ``live-edit``: the head does not change it, live differs from the base (a UI edit, or an
  apply that failed): applying overwrites it;
- ``conflict``: the head changes a field that was also edited live, to another value;
- ``already-live``: the head's value is already live; nothing is written for it.

Pure: no I/O. A target with no base document (new since the base) is all ``change``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from reconciler.assumptions import COMPARED_FIELDS
from reconciler.desired import DesiredCommunication, DesiredTarget
from reconciler.plan import REASON_DUPLICATE, Change, FieldName, Origin, TargetPlan, Value
from reconciler.textnorm import TEXT_FIELDS, explain

_ABSENT: dict[str, Value] = {"active": False}  # a key with no live row: nothing active there


def field_origin(
    base: Value | None, head: Value | None, live: Value | None, *, text: bool = False
) -> Origin | None:
    """The label of one field from its base, head and live values (None: all three agree).

    Values are equal only with the same type: ``True`` is not ``1``. For a ``text`` field, a
    live value that is a desired one after a server's normalisation (``textnorm``: CRLF to LF,
    trailing whitespace removed, ...) equals it, as the planner counts it unchanged.
    """

    def stored(desired: Value | None) -> bool:
        if _same(desired, live):
            return True
        return (
            text
            and isinstance(desired, str)
            and isinstance(live, str)
            and bool(explain(desired, live))
        )

    if _same(base, head) and stored(head):
        return None
    if _same(base, head):
        return "live-edit"
    if stored(head):
        return "already-live"
    if stored(base):
        return "change"
    return "conflict"


def label_target(target: TargetPlan, head: DesiredTarget, base: DesiredTarget | None) -> TargetPlan:
    """``target`` with each change's ``origin``: its written fields, and for declared keys the
    fields the head changes that are already live. Without a base, every written field is
    this change's."""
    heads = _by_key(head)
    bases = _by_key(base) if base is not None else None
    changes = []
    for change in target.changes:
        prunes = (head.prune, base.prune if base is not None else head.prune)
        origin = _origins(change, heads, bases, prunes)
        changes.append(change.model_copy(update={"origin": origin}) if origin else change)
    return target.model_copy(update={"changes": tuple(changes)})


def _origins(
    change: Change,
    heads: Mapping[tuple[str, int], DesiredCommunication],
    bases: Mapping[tuple[str, int], DesiredCommunication] | None,
    prunes: tuple[bool, bool],
) -> dict[FieldName, Origin]:
    key = (change.key.communicationType, change.key.channelId)
    found: dict[FieldName, Origin] = {}
    if change.is_write and change.reason == REASON_DUPLICATE:
        return {"active": "live-edit"}  # a second active row of a declared key is made live
    live = change.before
    wanted = heads.get(key)
    for name in cast(tuple[FieldName, ...], COMPARED_FIELDS):
        live_value = getattr(live, name) if live is not None else _ABSENT.get(name)
        head_value = _desired(wanted, name, live_value, prune=prunes[0])
        if bases is None:
            base_value = live_value  # no base document: the head's change is all its own
        else:
            base_value = _desired(bases.get(key), name, live_value, prune=prunes[1])
        label = field_origin(base_value, head_value, live_value, text=name in TEXT_FIELDS)
        if name in change.fields and change.is_write:
            found[name] = label or "change"
        elif label == "already-live" and wanted is not None:
            found[name] = label
    return found


def _desired(
    declared: DesiredCommunication | None, name: str, live: Value | None, *, prune: bool
) -> Value | None:
    """A document's wish for one field of a key: the declared value; for a key it does not
    declare, inactive under prune, else whatever is live (it has no opinion)."""
    if declared is not None:
        value: Value = getattr(declared, name)
        return value
    if name == "active" and prune and live is not None:
        return False
    return live


def _by_key(target: DesiredTarget) -> dict[tuple[str, int], DesiredCommunication]:
    return {wanted.key: wanted for wanted in target.communications}


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b
