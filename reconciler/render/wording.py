"""Words and lines shared by the text and markdown renderers: headings, values, diffs, totals.

Returns plain strings with untrusted text (names, templates, errors) already made one-line and
control-free; colour, fences and workflow-command neutralising are the callers' business.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

from reconciler.lint.rules import named_kind
from reconciler.lint.segments import segments_note
from reconciler.plan import (
    REASON_PRUNE,
    REASON_REACTIVATION,
    Change,
    FieldName,
    Plan,
    ReleasedTarget,
    TargetPlan,
    Value,
)
from reconciler.render.github import escape_controls, one_line

Mode = Literal["plan", "drift"]
SIGNS = {"create": "+", "update": "~", "deactivate": "-", "noop": " "}
WORDS: dict[Mode, dict[str, str]] = {
    "plan": {"create": "create", "update": "update", "deactivate": "deactivate"},
    "drift": {"create": "missing", "update": "changed", "deactivate": "extra"},
}
# Reasons say what the plan will do; drift words them as what was found live.
_DRIFT_REASONS = {
    REASON_REACTIVATION: "inactive live, active in the manifest",
    REASON_PRUNE: "active live, not in the manifests (prune)",
}
WORD_WIDTH = 10
# A created communication is shown with these fields; "active: true" goes without saying.
CREATE_FIELDS: tuple[FieldName, ...] = (
    "sender",
    "subjectTemplate",
    "messageTemplate",
    "offsetDays",
)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def target_heading(target: TargetPlan) -> str:
    """``name: target group 2163 "Spring", target 2317 "Spend 500" (manifests/x.yaml)``."""
    group = f"target group {target.targetGroupId}"
    group += f" {quoted(target.targetGroupName)}" if target.targetGroupName else ""
    item = f"target {target.targetId}"
    item += f" {quoted(target.targetName)}" if target.targetName else ""
    where = f" ({target.manifest})" if target.manifest else ""
    name = f"{target.name}: " if target.name else ""
    return one_line(f"{name}{group}, {item}{where}")


def attribution(change: Change) -> str | None:
    """``last updated by Jane Doe (jdoe) on 2025-06-24T08:25:55.590+0000``, or None.

    A known actor without a readable time is ``last updated by Jane Doe (jdoe), time unknown``.
    """
    who = change.lastUpdatedBy
    actor = ""
    if who is not None and (who.name or who.code):
        actor = (
            f" by {who.name} ({who.code})"
            if who.name and who.code
            else f" by {who.name or who.code}"
        )
    when = f" on {change.lastUpdatedOn}" if change.lastUpdatedOn else ""
    if actor and not when:  # the API sent no readable time (issue 14): say so, not nothing
        when = ", time unknown"
    return f"last updated{actor}{when}" if actor or when else None


def change_heading(change: Change, channels: Mapping[int, str], mode: Mode) -> tuple[str, str]:
    """(sign, rest): ``create     START on SMS (channelId 1), id 7 — reason``."""
    words = WORDS[mode]
    head = f"{words[change.action].ljust(WORD_WIDTH)} {change.key.label(channels)}"
    head += f", id {change.id}" if change.id is not None else ""
    reason = _DRIFT_REASONS.get(change.reason or "", change.reason) if mode == "drift" else None
    notes = [reason or change.reason or ""]
    if mode == "drift" and change.action != "create":
        notes.append(attribution(change) or "")
    elif mode == "drift" and change.source:
        notes.append(f"declared at {change.source}, not live")
    notes = [note for note in notes if note]
    return SIGNS[change.action], one_line(head + (" — " + "; ".join(notes) if notes else ""))


def shown_fields(change: Change, mode: Mode) -> Iterator[tuple[FieldName, Value | None, Value]]:
    """(field, from, to) to display, in reading direction: live → manifest for a plan,
    manifest → live for drift (what changed outside git)."""
    if change.action == "create" and change.after is not None:
        for name in CREATE_FIELDS:
            yield name, None, getattr(change.after, name)
        return
    if change.action == "noop" or change.before is None or change.after is None:
        return
    implied = change.action == "deactivate" and (mode == "plan" or not change.source)
    for name in change.fields:
        if implied and name == "active":
            continue  # the action already says it
        old, new = getattr(change.before, name), getattr(change.after, name)
        yield (name, new, old) if mode == "drift" else (name, old, new)


def sms_segments(change: Change, channels: Mapping[int, str], mode: Mode) -> str | None:
    """``segments 1 → 3 (UCS-2: \u2019 at column 41)`` for a plan's new or changed SMS message."""
    after, before = change.after, change.before
    if mode != "plan" or after is None:
        return None
    if named_kind(channels.get(change.key.channelId, "")) != "sms":
        return None
    if change.action == "create":
        return one_line(segments_note(None, after.messageTemplate))
    if change.action == "update" and "messageTemplate" in change.fields and before is not None:
        return one_line(segments_note(before.messageTemplate, after.messageTemplate))
    return None


def legend(mode: Mode) -> str:
    """What the lines of a diff mean, from the same signs and words the lines are built of."""
    words = WORDS[mode]
    heads = {a: f"`{SIGNS[a]} {words[a]}`" for a in ("create", "update", "deactivate")}
    old, new = direction(mode)
    fields = f"`-` is the {old} value and `+` the {new} value"
    if mode == "drift":
        return (
            f"In each diff, {heads['create']} is a communication the manifests declare and the "
            f"live state lacks, {heads['deactivate']} one that is live and not in the manifests, "
            f"{heads['update']} one that differs; in its field lines, {fields}."
        )
    return (
        f"In each diff, {heads['create']}, {heads['update']} and {heads['deactivate']} head "
        f"each communication's change; in the field lines, {fields}."
    )


def direction(mode: Mode) -> tuple[str, str]:
    return ("manifest", "live") if mode == "drift" else ("live", "manifest")


def value(item: Value) -> str:
    """A scalar as JSON would write it: strings quoted, with escapes for controls."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    return one_line(quoted(item))


def is_multiline(*items: Value | None) -> bool:
    return any(isinstance(item, str) and "\n" in item for item in items)


def _lines(text: str) -> list[str]:
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def template_lines(text: str) -> list[str]:
    """A multi-line value as display lines (controls escaped), without the final newline."""
    return [escape_controls(line.rstrip("\n")) for line in _lines(text)]


def template_diff(old: str, new: str, labels: tuple[str, str]) -> list[str]:
    """A unified diff (``---``, ``+++``, ``@@`` and ``-``/``+``/`` `` lines), controls escaped."""
    if old.endswith("\n") == new.endswith("\n"):
        # Same ending: compare whole lines and leave "no newline at end of file" out.
        old, new = old.rstrip("\n") + "\n", new.rstrip("\n") + "\n"
    out = [f"--- {labels[0]}", f"+++ {labels[1]}"]
    diff = difflib.unified_diff(_lines(old), _lines(new), lineterm="", n=3)
    for line in list(diff)[2:]:
        if line.startswith("@@"):
            out.append(line)
            continue
        out.append(escape_controls(line.rstrip("\n")))
        if not line.endswith("\n"):
            out.append("\\ No newline at end of file")
    return out


def summary_line(plan: Plan, mode: Mode) -> str:
    """The closing sentence of SPEC §5 (or its drift wording)."""
    total = plan.summary
    readable = plural(len(plan.targets) - len(plan.unreadable), "target")
    if total.changes == 0:
        if plan.unreadable:
            return f"No changes in the {readable} that could be read."
        if mode == "drift":
            return "No drift. Live state matches the manifests."
        return "No changes. Live state matches the manifests."
    if mode == "drift":
        return (
            f"Drift: {total.create} missing, {total.update} changed, "
            f"{total.deactivate} extra, {total.noop} unchanged across {readable}."
        )
    line = (
        f"Plan: {total.create} to create, {total.update} to update, "
        f"{total.deactivate} to deactivate, {total.noop} unchanged across {readable}"
    )
    if plan.contract is not None and plan.contract.body != "array":
        # The API takes one communication per request: apply's request count says so.
        line += f", in {plural(plan.upsert_requests, 'upsert request')} (one per communication)"
    return line + "."


UNREADABLE = "could not be read"


def unreadable_error(target: TargetPlan) -> str:
    """The ``error:`` line of plan, drift and apply for a target whose live state could not be
    read: ``target 2163/2318 (spring-sprint) could not be read: <why>``."""
    ids = f"{target.targetGroupId}/{target.targetId}"
    return f"target {ids} ({target.name}) {UNREADABLE}: {target.error}"


def unreadable_line(target: TargetPlan) -> str:
    """One item of the rendered plan's list under ``unreadable_title``."""
    return one_line(f"{target_heading(target)}: {target.error or UNREADABLE}")


def unreadable_title(plan: Plan) -> str:
    count = len(plan.unreadable)
    noun = plural(count, "target")
    return f"{noun} {UNREADABLE}; nothing is planned for {'it' if count == 1 else 'them'}:"


# --- a git base (issue 18): origins, the run's scope, released targets --------------------------

ORIGIN_WORDS: dict[Mode, dict[str, str]] = {
    "plan": {
        "change": "this change",
        "live-edit": "overwrites a live edit",
        "conflict": "conflict: this change and a live edit differ",
        "already-live": "already live, nothing to write",
    },
    "drift": {
        "change": "changed in git",
        "live-edit": "live edit",
        "conflict": "live edit, also changed in git",
        "already-live": "already live",
    },
}
RELEASE_HINT = "to remove them keep the document with `communications: []`"


def origin_note(change: Change, name: FieldName, mode: Mode) -> str | None:
    """``overwrites a live edit (last updated by Jane Doe (jdoe) on …)``, or None."""
    origin = (change.origin or {}).get(name)
    if origin is None:
        return None
    word = ORIGIN_WORDS[mode][origin]
    who = attribution(change) if origin in ("live-edit", "conflict") else None
    return one_line(f"{word} ({who})" if who else word)


def already_live(change: Change) -> list[FieldName]:
    """The fields the head changes that are already live (nothing is written for them)."""
    return [name for name, origin in (change.origin or {}).items() if origin == "already-live"]


def base_line(plan: Plan) -> str | None:
    """What the git base did to this run: its scope, or the base the labels compare with."""
    base = plan.base
    if base is None:
        return None
    at = f"{base.ref} ({base.commit[:12]})"
    if base.changedSince and base.full is not None:
        return one_line(f"Full plan: {base.full}; every document was planned.")
    if base.changedSince:
        return one_line(
            f"Changed since {at}: {base.changedDocuments} of "
            f"{plural(base.documents, 'document')} planned; the others are unchanged and "
            "were not read."
        )
    return one_line(f"Origins are labelled against {at}.")


def released_title(plan: Plan) -> str:
    ref = plan.base.ref if plan.base is not None else "the base"
    noun = plural(len(plan.released), "target")
    return f"{noun} no longer managed (document deleted since {ref}); nothing is written:"


def released_line(target: ReleasedTarget) -> str:
    where = f" ({target.manifest})" if target.manifest else ""
    if not target.readable:
        return one_line(
            f"{target.label}{where}: no longer managed; its live state could not be read "
            f"({target.error}); nothing is written"
        )
    count = target.activeLive
    verb = "stays" if count == 1 else "stay"
    return one_line(
        f"{target.label}{where}: no longer managed: its "
        f"{plural(count, 'active communication')} {verb} live; {RELEASE_HINT}"
    )


def conflict_error(conflicts: Sequence[tuple[TargetPlan, Change, FieldName]]) -> str:
    """The ``error:`` line of ``plan --fail-on-conflict``."""
    shown = "; ".join(
        f"{target.label} {change.key.label()} {name}" for target, change, name in conflicts[:3]
    )
    more = f" and {len(conflicts) - 3} more" if len(conflicts) > 3 else ""
    return one_line(
        f"{plural(len(conflicts), 'conflict')} between this change and a live edit: "
        f"{shown}{more}; take the live value into the manifest or confirm the change, then plan "
        "again (or plan without --fail-on-conflict)"
    )
