"""The markdown rendering of a plan or drift report, for a pull-request comment (SPEC §5, §7).

Pure: Plan -> str, never longer than ``limit``. Text from manifests or the API sits in code
fences or entity-escaped ``<code>`` elements, so mentions, HTML and markdown stay inert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from reconciler.diagnostics import Diagnostic
from reconciler.plan import Change, Plan, TargetPlan
from reconciler.render.github import neutralize_commands, one_line
from reconciler.render.wording import (
    Mode,
    attribution,
    base_line,
    change_heading,
    direction,
    is_multiline,
    legend,
    origin_note,
    plural,
    released_line,
    released_title,
    shown_fields,
    sms_segments,
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
_MIN_SHARE = 1_000  # a target is left out only when a cut block of this size would not fit
_WHOLE = 1 << 62  # the "level" at which every block is shown whole
_HEADING_LIMIT = 300  # characters of a target's heading (names, path) before it is shortened
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


def render_markdown(
    plan: Plan, *, drift: bool = False, limit: int = LIMIT, lint: Sequence[Diagnostic] = ()
) -> str:
    """Summary table, then one ``<details>`` block per changed target, within ``limit``.

    The room left after the table is shared out fairly (issue 14): every target that fits
    whole is shown whole; one larger than its share is cut at a line boundary of its diff, with
    a note, so the targets after it still appear. Targets are left out (and counted in a note)
    only when not even a cut block of ``_MIN_SHARE`` characters per target fits.

    ``lint`` lists the lint warnings of the communications the plan changes (issue 17).
    """
    mode: Mode = "drift" if drift else "plan"
    head = neutralize_commands(_head(plan, mode, limit, lint))
    tail = neutralize_commands(f"{summary_line(plan, mode)}\n")
    budget = limit - len(head) - len(tail) - _NOTE_RESERVE
    changed = plan.changed_targets
    blocks = _fit(_blocks(changed, plan.channels, mode, limit, budget), budget)
    parts = [head, *blocks]
    if len(blocks) < len(changed):
        parts.append(_left_out(len(changed) - len(blocks), len(changed), limit, mode))
    parts.append(tail)
    return "".join(parts)


class _Block:
    """One target's ``<details>`` block, whole or cut to a number of characters."""

    def __init__(self, summary: str, lines: list[str], limit: int, mode: Mode) -> None:
        self.summary = summary
        self.lines = lines
        self.limit = limit
        self.command = "reconciler drift" if mode == "drift" else "reconciler plan"
        self.whole = self._render(lines, hidden=0, shortened=False)
        # The smallest cut form: the heading, an empty diff and the note.
        self.least = min(len(self.whole), len(self._render([], len(lines), shortened=False)))

    @property
    def size(self) -> int:
        return len(self.whole)

    def _render(self, lines: list[str], hidden: int, *, shortened: bool) -> str:
        note = ""
        if hidden or shortened:
            what = []
            if shortened:
                what.append("the last line shown is shortened")
            if hidden:
                what.append(f"{plural(hidden, 'more line')} of this diff not shown")
            note = (
                f"_\u2026 cut here: {' and '.join(what)}, to keep this comment under "
                f"{self.limit} characters. Run `{self.command}` or see the job log "
                "for all of it._\n\n"
            )
        body = fence(lines, "diff")
        return neutralize_commands(
            f"<details><summary>{self.summary}</summary>\n\n{body}\n{note}</details>\n\n"
        )

    def cut(self, room: int) -> str:
        """The block in at most ``room`` characters (at least ``least``): as many whole diff
        lines as fit; a single line longer than the whole room is shortened, not dropped."""
        if self.size <= room:
            return self.whole
        lines = self.lines
        low, high, used = 0, 0, 0  # the largest count of whole lines that fits
        while high < len(lines) - 1 and used + len(lines[high]) < room:
            used += len(lines[high]) + 1
            high += 1
        while low < high:
            middle = (low + high + 1) // 2
            if len(self._render(lines[:middle], len(lines) - middle, shortened=False)) <= room:
                low = middle
            else:
                high = middle - 1
        kept = low
        block = self._render(lines[:kept], len(lines) - kept, shortened=False)
        if kept < len(lines) and len(lines[kept]) > room // 2:
            # The next line alone is larger than any share: show its beginning instead.
            spare = room - len(block) - 80
            text = lines[kept]
            while spare > 40:
                candidate = self._render(
                    [*lines[:kept], text[:spare] + " \u2026"],
                    len(lines) - kept - 1,
                    shortened=True,
                )
                if len(candidate) <= room:
                    return candidate
                spare -= max(len(candidate) - room, 16)
        return block if len(block) <= room else self._render([], len(lines), shortened=False)


def _blocks(
    targets: list[TargetPlan], channels: Mapping[int, str], mode: Mode, limit: int, budget: int
) -> list[_Block]:
    """The blocks of the targets that could be shown at all, in plan order: rendering stops
    once even their smallest forms no longer fit, so a plan of 10,000 targets renders only
    the few hundred a comment can hold."""
    blocks: list[_Block] = []
    least = 0
    for target in targets:
        block = _target(target, channels, mode, limit)
        least += block.least
        if least > budget:
            break
        blocks.append(block)
    return blocks


def _fit(blocks: list[_Block], budget: int) -> list[str]:
    """Share ``budget`` among the longest prefix of ``blocks`` in which every block gets at
    least ``_MIN_SHARE`` characters (or all it needs): small blocks whole, large ones cut
    to one common level (max-min fairness)."""
    if sum(b.size for b in blocks) <= budget:
        return [b.whole for b in blocks]
    low, high = 0, len(blocks)  # the longest prefix whose level is at least _MIN_SHARE
    while low < high:
        middle = (low + high + 1) // 2
        level = _level(blocks[:middle], budget)
        if level is not None and level >= _MIN_SHARE:
            low = middle
        else:
            high = middle - 1
    count = low
    if count == 0:
        if not blocks or blocks[0].least > budget:
            return []
        count = 1  # the room is smaller than one share: the first target, cut to it
    shown = blocks[:count]
    level = _level(shown, budget) or 0
    out = []
    spare = 0  # what the blocks before left of their shares goes to the ones after them
    for block in shown:
        share = min(block.size, max(block.least, level))
        text = block.cut(share + spare)
        spare += share - len(text)
        out.append(text)
    return out


def _level(blocks: list[_Block], budget: int) -> int | None:
    """The largest L with sum(min(size, max(least, L))) <= budget; None if even the least
    forms do not fit; ``_WHOLE`` if every block fits whole."""
    if sum(b.least for b in blocks) > budget:
        return None
    if sum(b.size for b in blocks) <= budget:
        return _WHOLE
    low, high = 0, max((b.size for b in blocks), default=0)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(b.size, max(b.least, middle)) for b in blocks) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _head(plan: Plan, mode: Mode, limit: int, lint: Sequence[Diagnostic] = ()) -> str:
    total = plan.summary
    title = "drift report" if mode == "drift" else "plan"
    names = (
        ("missing", "changed", "extra")
        if mode == "drift"
        else ("to create", "to update", "to deactivate")
    )
    counts = (total.create, total.update, total.deactivate, total.noop)
    targets = (len(plan.targets), len(plan.changed_targets), len(plan.unreadable))
    section = min(_SECTION_LIMIT, limit // 8)
    out = [
        f"### reconciler {title}: {code(_shortened(plan.environment))}\n",
        f"Generated at {code(plan.generatedAt)}.\n",
        *_scope(plan, mode, section),
        "| " + " | ".join((*names, "unchanged", "targets", "with changes", "unreadable")) + " |",
        "|" + " ---: |" * 7,
        "| " + " | ".join(str(n) for n in (*counts, *targets)) + " |\n",
    ]
    if plan.unreadable:
        items = [f"> - {code(unreadable_line(t))}" for t in plan.unreadable]
        out += ["> [!CAUTION]", f"> {unreadable_title(plan)}", *_capped(items, "> - ", section), ""]
    if plan.released:
        items = [f"> - {code(released_line(t))}" for t in plan.released]
        out += ["> [!NOTE]", f"> {released_title(plan)}", *_capped(items, "> - ", section), ""]
    warnings = [one_line(w) for w in plan.all_warnings(unreadable=False)]
    if warnings:
        out += [f"<details><summary>{plural(len(warnings), 'warning')}</summary>\n"]
        out += [fence(_capped(warnings, "", section)) + "</details>\n"]
    ignored = [one_line(line) for line in plan.all_info()]
    if ignored:
        out += [f"<details><summary>{plural(len(ignored), 'ignored difference')}</summary>\n"]
        out += [fence(_capped(ignored, "", section)) + "</details>\n"]
    if lint:
        found = [one_line(d.render()) for d in lint]
        out += [f"<details><summary>{plural(len(found), 'lint warning')}</summary>\n"]
        out += [fence(_capped(found, "", section)) + "</details>\n"]
    if plan.changed_targets:
        out.append(legend(mode) + "\n")
    return "\n".join(out) + "\n"


def _scope(plan: Plan, mode: Mode, limit: int) -> list[str]:
    """The git base's line and, for a plan, its live edits and conflicts first (issue 18)."""
    line = base_line(plan)
    # Its reason names reconciler.yaml keys, which a pull request writes: untrusted text.
    out = [f"{code(line)}\n"] if line else []
    if mode != "plan":
        return out
    found = plan.origins("conflict", "live-edit")
    if not found:
        return out
    found.sort(key=lambda item: (item[1].origin or {}).get(item[2]) != "conflict")
    items = []
    for target, change, name in found:
        origin = (change.origin or {})[name]
        who = attribution(change) or "no attribution"
        what = (
            "conflict: this pull request changes it, and it was edited live"
            if origin == "conflict"
            else "edited live; this pull request does not change it, and merging overwrites it"
        )
        label = f"{target.label}: {change.key.label(plan.channels)}: {name}"
        items.append(f"> - {code(one_line(label))}: {what} ({code(one_line(who))})")
    conflicts = sum(1 for item in found if (item[1].origin or {}).get(item[2]) == "conflict")
    title = (
        f"**Merging overwrites live edits:** {plural(len(found) - conflicts, 'live edit')} "
        f"and {plural(conflicts, 'conflict')}"
    )
    return [*out, "> [!WARNING]", f"> {title}", *_capped(items, "> - ", limit), ""]


def _capped(items: list[str], prefix: str, limit: int) -> list[str]:
    kept: list[str] = []
    size = 0
    for index, item in enumerate(items):
        size += len(item) + 1
        if size > limit:
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


def _target(target: TargetPlan, channels: Mapping[int, str], mode: Mode, limit: int) -> _Block:
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
    summary = f"{code(_shortened(target_heading(target)))}: {counts}"
    return _Block(summary, lines, limit, mode)


def _shortened(text: str, limit: int = _HEADING_LIMIT) -> str:
    """A name or heading from manifests or the API, cut to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _change(change: Change, channels: Mapping[int, str], mode: Mode) -> list[str]:
    sign, heading = change_heading(change, channels, mode)
    lines = [f"{sign} {heading}"]
    labels = direction(mode)
    for name, old, new in shown_fields(change, mode):
        note = origin_note(change, name, mode)
        after = f"  # {note}" if note else ""
        if not is_multiline(old, new):
            if old is not None:
                lines.append(f"-{_INDENT}{name}: {value(old)}")
            lines.append(f"+{_INDENT}{name}: {value(new)}{after}")
            continue
        lines.append(f"{'+' if old is None else ' '}{_INDENT}{name}:{after}")
        if old is None:
            lines.extend(f"+{_INDENT}  {line}" for line in template_lines(str(new)))
            continue
        for line in template_diff(str(old), str(new), labels)[2:]:  # "-"/"+" say which side
            mark, text = (" ", line) if line.startswith(("@@", "\\")) else (line[:1], line[1:])
            lines.append(f"{mark}{_INDENT}  {text}")
    segments = sms_segments(change, channels, mode)
    if segments:
        lines.append(f" {_INDENT}{segments}")
    return lines
