"""What an apply run prints besides the plan: the plan shown before confirming, one line per
target as it is done, the closing summary and its warnings, the step summary."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.applier.execute import ApplyResult, TargetOutcome
    from reconciler.console import Console
    from reconciler.plan import Plan

_MARK = {"applied": "✓", "recovered": "✓", "failed": "✗", "skipped": "·"}


def finish(planned: Plan, result: ApplyResult, console: Console) -> None:
    """After the writes: the summary, the warnings, the step summary, a fatal error."""
    from reconciler.outputs import STEP_SUMMARY, not_written
    from reconciler.render.markdown import render_markdown
    from reconciler.report import append_step_summary, outcome_markdown

    _summary(planned, result, console)
    _warnings(result, console)
    try:
        append_step_summary(render_markdown(planned) + "\n" + outcome_markdown(result))
    except (OSError, ValueError) as exc:  # a warning: the writes to the API are done
        console.warn(not_written(STEP_SUMMARY, os.environ.get(STEP_SUMMARY, ""), exc))
    if result.fatal_error:
        console.error(result.fatal_error)


def show(planned: Plan, console: Console) -> None:
    from reconciler.render.text import render_text
    from reconciler.render.wording import unreadable_error

    console.print(render_text(planned, color=console.color))
    for target in planned.unreadable:
        console.error(unreadable_error(target))


def line(outcome: TargetOutcome, console: Console) -> None:
    from reconciler.render.github import one_line

    target = outcome.target
    # The label is the manifest's metadata.name: printed inert, like everything from manifests.
    console.print(one_line(f"{_MARK[outcome.status]} {target.label}: {outcome.message}"))


def _summary(planned: Plan, result: ApplyResult, console: Console) -> None:
    ok = [o for o in result.outcomes if o.ok]
    created = sum(o.target.count("create") for o in ok)
    updated = sum(o.target.count("update") for o in ok)
    deactivated = sum(o.target.count("deactivate") for o in ok)
    failed = sum(1 for o in result.outcomes if o.status == "failed")
    skipped = sum(1 for o in result.outcomes if o.status == "skipped")
    line = (
        f"Apply complete: {len(ok)} target{'s' if len(ok) != 1 else ''} changed "
        f"({created} created, {updated} updated, {deactivated} deactivated), {failed} failed"
    )
    if skipped:
        line += f", {skipped} not started"
        if result.stop_reason:
            line += f": {result.stop_reason}"
    if planned.unreadable:
        line += f", {len(planned.unreadable)} unreadable"
    console.print(line + ".")


def _warnings(result: ApplyResult, console: Console) -> None:
    """Each distinct outcome warning once, with the targets it concerns (issue 14 item 5)."""
    from reconciler.render.github import one_line

    for warning, outcomes in result.warnings().items():
        labels = [o.target.label for o in outcomes]
        shown = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
        console.warn(
            one_line(
                f"{warning} ({len(labels)} target{'s' if len(labels) != 1 else ''}: {shown}); "
                "the API normalises this text, so plan treats the stored form as unchanged: "
                "write the manifests that way to silence this"
            )
        )
