"""The text rendering of a plan or drift report (SPEC §5): headers, signed lines, field diffs.

Pure: returns a string; colour only when the caller asks. Everything from manifests or the API
is printed inert (controls escaped, workflow commands neutralised), coloured or not.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.plan import Change, Plan, TargetPlan
from reconciler.render.github import neutralize_commands, one_line
from reconciler.render.wording import (
    Mode,
    already_live,
    base_line,
    change_heading,
    direction,
    is_multiline,
    origin_note,
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

BOLD, RED, GREEN, YELLOW, CYAN, RESET = (f"\x1b[{code}m" for code in (1, 31, 32, 33, 36, 0))
_SIGN_COLORS = {"+": GREEN, "~": YELLOW, "-": RED}
_INDENT_CHANGE, _INDENT_FIELD, _INDENT_BLOCK = "  ", "      ", "        "
_Paint = Callable[[str, str], str]


def render_text(plan: Plan, *, color: bool = False, drift: bool = False) -> str:
    """The whole plan: changed targets, unreadable targets, warnings, then the summary line.

    Targets without changes and unchanged communications are not listed; the summary line
    counts them.
    """
    mode: Mode = "drift" if drift else "plan"
    paint = _painter(color)
    out: list[str] = []
    scope = base_line(plan)
    if scope:
        out.extend([scope, ""])
    for target in plan.changed_targets:
        out.extend(_target(target, plan.channels, mode, paint))
        out.append("")
    if plan.unreadable:
        out.append(paint(RED, unreadable_title(plan)))
        out.extend(f"  ! {unreadable_line(target)}" for target in plan.unreadable)
        out.append("")
    if plan.released:
        out.append(paint(YELLOW, released_title(plan)))
        out.extend(f"  - {released_line(target)}" for target in plan.released)
        out.append("")
    ignored = plan.all_info()  # fields the manifests leave to live edits, never hidden
    if ignored:
        out.append("Ignored (live edits own these fields):")
        out.extend(f"  i {one_line(line)}" for line in ignored)
        out.append("")
    warnings = plan.all_warnings(unreadable=False)  # those have their own section
    if warnings:
        out.append(paint(YELLOW, "Warnings:"))
        out.extend(f"  ! {one_line(warning)}" for warning in warnings)
        out.append("")
    out.append(paint(BOLD, summary_line(plan, mode)))
    return neutralize_commands("\n".join(line if line.strip() else "" for line in out) + "\n")


def _painter(color: bool) -> _Paint:
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if color and code and text else text

    return paint


def _target(target: TargetPlan, channels: dict[int, str], mode: Mode, paint: _Paint) -> list[str]:
    lines = [paint(BOLD, target_heading(target))]
    for change in target.changes:
        if change.action != "noop":
            lines.extend(_change(change, channels, mode, paint))
    return lines


def _change(change: Change, channels: dict[int, str], mode: Mode, paint: _Paint) -> list[str]:
    sign, heading = change_heading(change, channels, mode)
    tint = _SIGN_COLORS[sign]
    word, _, rest = heading.partition(" ")
    lines = [f"{_INDENT_CHANGE}{paint(tint, f'{sign} {word}')} {rest}"]
    labels = direction(mode)
    for name, old, new in shown_fields(change, mode):
        note = origin_note(change, name, mode)
        after = f"  ({note})" if note else ""
        if is_multiline(old, new):
            lines.append(f"{_INDENT_FIELD}{name}:{after[1:]}")
            if old is None:
                block = [f"+{line}" for line in template_lines(str(new))]
            else:
                block = template_diff(str(old), str(new), labels)
            lines.extend(f"{_INDENT_BLOCK}{_paint_diff(line, paint)}" for line in block)
        elif old is None:
            lines.append(f"{_INDENT_FIELD}{name}: {value(new)}{after}")
        elif mode == "drift":
            pair = f"{labels[0]} {value(old)} → {labels[1]} {value(new)}"
            lines.append(f"{_INDENT_FIELD}{name}: {pair}{after}")
        else:
            lines.append(f"{_INDENT_FIELD}{name}: {value(old)} → {value(new)}{after}")
    if mode == "plan" and change.after is not None:
        for name in already_live(change):
            shown = value(getattr(change.after, name))
            lines.append(f"{_INDENT_FIELD}{name}: {shown}  ({origin_note(change, name, mode)})")
    segments = sms_segments(change, channels, mode)
    if segments:
        lines.append(f"{_INDENT_FIELD}{segments}")
    return lines


def _paint_diff(line: str, paint: _Paint) -> str:
    if line.startswith(("---", "+++")):
        return paint(BOLD, line)
    if line.startswith("@@"):
        return paint(CYAN, line)
    return paint(_SIGN_COLORS.get(line[:1], ""), line)
