"""The markdown rendering of a plan or drift report, for a pull-request comment (SPEC §5, §7).

Pure: Plan -> str, never longer than ``limit``. Text from manifests or the API sits in code
fences or entity-escaped ``<code>`` elements, so mentions, HTML and markdown stay inert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from reconciler.plan import Change, Plan, TargetPlan
from reconciler.render.github import neutralize_commands, one_line
from reconciler.render.wording import (
    Mode,
    change_heading,
    direction,
    is_multiline,
    plural,
    shown_fields,
    summary_line,
    target_heading,
    template_diff,
    template_lines,
    unreadable_line,
    unreadable_title,
    value,
)

LIMIT = 60_000  # GitHub refuses comments over 65,536 characters; keep a margin
_SECTION_LIMIT = 8_000  # warnings and unreadable targets each get at most this much
_NOTE_RESERVE = 400  # room kept for the "left out" note
_INDENT = "       "  # after the one-character sign column of a diff line
_SAFE = re.compile(r"[\w \-,]")


def code(text: str) -> str:
    """Untrusted text as an inline ``<code>`` element: every markdown or HTML character, and
    ``@``, written as an entity so nothing inside renders, links or mentions."""
    safe = "".join(ch if _SAFE.fullmatch(ch) and ch != "_" else f"&#{ord(ch)};" for ch in text)
    return f"<code>{safe}</code>"


def fence(lines: Iterable[str], info: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside it."""
    body = "\n".join(line if line.strip() else "" for line in lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{info}\n{body}\n{marks}\n"


def render_markdown(plan: Plan, *, drift: bool = False, limit: int = LIMIT) -> str:
    """Summary table, then one ``<details>`` block per changed target, cut to ``limit``."""
    mode: Mode = "drift" if drift else "plan"
    head = neutralize_commands(_head(plan, mode))
    tail = neutralize_commands(f"{summary_line(plan, mode)}\n")
    budget = limit - len(head) - len(tail) - _NOTE_RESERVE
    parts = [head]
    changed = plan.changed_targets
    for shown, target in enumerate(changed):
        block = neutralize_commands(_target(target, plan.channels, mode))
        if len(block) > budget:
            parts.append(_left_out(len(changed) - shown, len(changed), limit, mode))
            break
        budget -= len(block)
        parts.append(block)
    parts.append(tail)
    return "".join(parts)


def _head(plan: Plan, mode: Mode) -> str:
    total = plan.summary
    title = "drift report" if mode == "drift" else "plan"
    names = (
        ("missing", "changed", "extra")
        if mode == "drift"
        else ("to create", "to update", "to deactivate")
    )
    counts = (total.create, total.update, total.deactivate, total.noop)
    targets = (len(plan.targets), len(plan.changed_targets), len(plan.unreadable))
    out = [
        f"### reconciler {title}: {code(plan.environment)}\n",
        f"Generated at {code(plan.generatedAt)}.\n",
        "| " + " | ".join((*names, "unchanged", "targets", "with changes", "unreadable")) + " |",
        "|" + " ---: |" * 7,
        "| " + " | ".join(str(n) for n in (*counts, *targets)) + " |\n",
    ]
    if plan.unreadable:
        items = [f"> - {code(unreadable_line(t))}" for t in plan.unreadable]
        out += ["> [!CAUTION]", f"> {unreadable_title(plan)}", *_capped(items, "> - "), ""]
    warnings = [one_line(w) for w in plan.all_warnings(unreadable=False)]
    if warnings:
        out += [f"<details><summary>{plural(len(warnings), 'warning')}</summary>\n"]
        out += [fence(_capped(warnings, "")) + "</details>\n"]
    if plan.changed_targets:
        old, new = direction(mode)
        out.append(f"In each diff, `-` is the {old} value and `+` the {new} value.\n")
    return "\n".join(out) + "\n"


def _capped(items: list[str], prefix: str) -> list[str]:
    kept: list[str] = []
    size = 0
    for index, item in enumerate(items):
        size += len(item) + 1
        if size > _SECTION_LIMIT:
            return [*kept, f"{prefix}… and {len(items) - index} more"]
        kept.append(item)
    return kept


def _left_out(left: int, total: int, limit: int, mode: Mode) -> str:
    what = "targets with drift" if mode == "drift" else "targets with changes"
    command = "reconciler drift" if mode == "drift" else "reconciler plan"
    return (
        f"> [!NOTE]\n> **{left} of {total} {what} left out** to keep this comment under "
        f"{limit} characters. Run `{command}` or see the job log for all of them.\n"
    )


def _target(target: TargetPlan, channels: Mapping[int, str], mode: Mode) -> str:
    words = (
        ("missing", "changed", "extra")
        if mode == "drift"
        else ("to create", "to update", "to deactivate")
    )
    numbers = (target.count("create"), target.count("update"), target.count("deactivate"))
    counts = ", ".join(f"{n} {word}" for n, word in zip(numbers, words, strict=True) if n)
    lines: list[str] = []
    for change in target.changes:
        if change.action != "noop":
            lines.extend(_change(change, channels, mode))
    summary = f"{code(target_heading(target))}: {counts}"
    return f"<details><summary>{summary}</summary>\n\n{fence(lines, 'diff')}\n</details>\n\n"


def _change(change: Change, channels: Mapping[int, str], mode: Mode) -> list[str]:
    sign, heading = change_heading(change, channels, mode)
    lines = [f"{sign} {heading}"]
    labels = direction(mode)
    for name, old, new in shown_fields(change, mode):
        if not is_multiline(old, new):
            if old is not None:
                lines.append(f"-{_INDENT}{name}: {value(old)}")
            lines.append(f"+{_INDENT}{name}: {value(new)}")
            continue
        lines.append(f"{'+' if old is None else ' '}{_INDENT}{name}:")
        if old is None:
            lines.extend(f"+{_INDENT}  {line}" for line in template_lines(str(new)))
            continue
        for line in template_diff(str(old), str(new), labels)[2:]:  # "-"/"+" say which side
            mark, text = (" ", line) if line.startswith(("@@", "\\")) else (line[:1], line[1:])
            lines.append(f"{mark}{_INDENT}  {text}")
    return lines
