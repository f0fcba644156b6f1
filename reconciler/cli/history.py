"""``reconciler history``: the runs apply kept in ``.reconciler/history/`` (issue 19), one line
each, oldest first, so the right one can be rolled back."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from reconciler.cli.context import state
from reconciler.errors import ExitCode


def history(
    ctx: typer.Context,
    environment: Annotated[
        str | None,
        typer.Option("--environment", help="Only this environment's runs (default: all)."),
    ] = None,
) -> int:
    """List the stored apply runs: time, commit, targets touched, outcome, file."""
    from reconciler.history import stored_runs
    from reconciler.render.github import one_line

    run = state(ctx)
    settings = run.settings(network=False)
    runs = stored_runs(settings.root, environment)
    if not runs:
        where = f" of environment {environment!r}" if environment else ""
        run.out.print(f"No stored runs{where} in .reconciler/history/.")
        return ExitCode.OK
    for stored in runs:
        report = stored.report
        touched = report.touched
        names = ", ".join(t.label for t in touched[:3])
        more = f" and {len(touched) - 3} more" if len(touched) > 3 else ""
        commit = (report.commit or "-")[:12]
        count = f"{len(touched)} target{'s' if len(touched) != 1 else ''}"
        shown = os.path.relpath(stored.path)
        line = (
            f"{report.startedAt}  {report.environment}  {commit}  {report.outcome}  "
            f"{count}: {names}{more}  {shown}"
        )
        run.out.print(one_line(line))
    return ExitCode.OK
