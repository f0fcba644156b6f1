"""``reconciler probe``: prove the API's upsert semantics on one scratch target, print the answers
and write the environment's contract file (docs/probe.md).
"""

from __future__ import annotations

from typing import Annotated

import typer

from reconciler.cli.context import state
from reconciler.cli.options import check_choice
from reconciler.errors import ExitCode, Interrupted

HELP = (
    "Prove the API's semantics on a scratch target. Writes the contract file; "
    f"exit {ExitCode.CHANGES} when an answer differs from the assumptions."
)
PROBE_FORMATS = ("text", "json")


def _ref(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def probe(
    ctx: typer.Context,
    target_group: Annotated[
        str, typer.Option("--target-group", help="The scratch target's group (id or name).")
    ],
    target: Annotated[
        str,
        typer.Option(
            "--target", help="The scratch target (id or name); no manifest may declare it."
        ),
    ],
    channel: Annotated[
        str | None, typer.Option("--channel", help="Channel of the probe's rows (id or name).")
    ] = None,
    allow_active: Annotated[
        bool,
        typer.Option(
            "--allow-active",
            help="Allow a target with active communications; only types it has no row of are used.",
        ),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text | json", metavar="FORMAT")] = "text",
) -> int:
    from reconciler.probe import ProbeReport, ProbeRequest, run_probe
    from reconciler.probe.cleanup import leftover_lines
    from reconciler.render.probe import render_probe_json, render_probe_text
    from reconciler.session import open_client

    check_choice("--format", fmt, PROBE_FORMATS)
    run = state(ctx)
    settings = run.settings()
    request = ProbeRequest(
        _ref(target_group), _ref(target), None if channel is None else _ref(channel), allow_active
    )

    async def go() -> ProbeReport:
        async with open_client(settings) as client:
            return await run_probe(settings, client, request)

    try:
        report = run.run_async(go())
    except Interrupted as exc:
        raise Interrupted(
            "interrupted before the probe completed; the rows it wrote stay until the next "
            "`reconciler probe` on this environment cleans them up first",
            exc.exit_code,
        ) from None
    console = run.out
    if fmt == "json":
        console.print(render_probe_json(report.document))
    else:
        console.print(render_probe_text(report))
    if not report.cleanup.complete:
        for line in leftover_lines(report.cleanup, report.journal_file):
            console.error(line)
        return ExitCode.FAILURE
    return ExitCode.CHANGES if report.differs else ExitCode.OK
