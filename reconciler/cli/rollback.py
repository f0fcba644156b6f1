"""``reconciler rollback --report FILE``: restore the live rows an apply recorded before writing
(issue 19). The restoration is a plan like any other, shown and applied by ``apply``'s own run
(threshold, confirmation, canary, lock, report); ``--plan-out`` saves it for ``apply --plan``
(and its staleness check) instead, ``--out DIR`` writes manifests of the pre-image instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reconciler.applier.lock import DEFAULT_LOCK_TIMEOUT
from reconciler.cli.context import state
from reconciler.cli.options import SelectOption, TargetGroupOption, selection
from reconciler.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from reconciler.api.wire import Communication
    from reconciler.config import Settings
    from reconciler.console import Console
    from reconciler.history import ReportTarget
    from reconciler.plan import Plan

HELP = (
    "Restore the live rows an apply recorded before writing (from its --report or history "
    f"file); exit {ExitCode.UNSAFE} unsafe."
)


def rollback(
    ctx: typer.Context,
    report: Annotated[
        Path, typer.Option("--report", help="The apply's report (or a history file).")
    ],
    target_group: TargetGroupOption = None,
    select: SelectOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Restore targets changed since that apply too, even above maxDeactivatePercent.",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write manifests of the pre-image here instead of applying."),
    ] = None,
    plan_out: Annotated[
        Path | None,
        typer.Option("--plan-out", help="Save the restoration plan (for apply --plan) instead."),
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask; required without a terminal.")
    ] = False,
    parallelism: Annotated[
        int | None, typer.Option("--parallelism", min=1, max=256, help="Requests in flight.")
    ] = None,
) -> int:
    # The help is HELP.
    from reconciler.cli.apply import ApplyOptions, run_apply
    from reconciler.config import check_endpoint
    from reconciler.history import read_report
    from reconciler.outputs import check_step_summary, check_writable
    from reconciler.rollback import chosen_targets, plan_rollback

    if out is not None and plan_out is not None:
        raise UsageError("--out writes manifests and --plan-out a plan: give one of them")
    chosen_group = selection(None, select, target_group, None).target_group
    run = state(ctx)
    settings = run.settings()
    recorded = read_report(report)
    targets = chosen_targets(
        recorded,
        settings.environment,
        chosen_group,
        select or (),
        endpoint=check_endpoint(settings.env.endpoint),
    )
    if out is not None:
        return run.run_async(_write_manifests(settings, targets, out, force, run.out))
    if plan_out is not None:
        check_writable(plan_out, "--plan-out")
        return run.run_async(_save_plan(settings, targets, plan_out, force, run.out))
    check_step_summary()
    options = ApplyOptions(
        plan_file=None,
        auto_approve=auto_approve,
        parallelism=parallelism,
        force=force,
        report=None,  # the rollback's own record goes to the history
        lock_timeout=DEFAULT_LOCK_TIMEOUT,
    )

    async def planner(
        client: Any, jobs: int, live: dict[tuple[int, int], list[Communication]]
    ) -> Plan:
        return await plan_rollback(
            targets,
            client,  # the run's client, which reads channels and communications
            environment=settings.environment,
            parallelism=jobs,
            force=force,
            keep_live=live,
            inactive_visible=_inactive_visible(settings),
        )

    from reconciler.live import Selection

    return run.run_async(run_apply(settings, Selection(), options, run.out, planner))


def _inactive_visible(settings: Settings) -> bool:
    """Whether this run's API contract shows inactive rows (what a restoration compares)."""
    from reconciler.live import run_contract

    return run_contract(settings).contract.inactiveRowsVisible


async def _save_plan(
    settings: Settings, targets: list[ReportTarget], path: Path, force: bool, console: Console
) -> int:
    from reconciler.outputs import not_written
    from reconciler.render.text import render_text
    from reconciler.rollback import plan_rollback
    from reconciler.session import open_client

    async with open_client(settings) as client:
        planned = await plan_rollback(
            targets,
            client,
            environment=settings.environment,
            parallelism=settings.env.parallelism,
            force=force,
            keep_live={},
            inactive_visible=_inactive_visible(settings),
        )
    console.print(render_text(planned, color=console.color))
    try:
        path.write_text(planned.to_json(), encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise UsageError(not_written("--plan-out", path, exc)) from None
    console.print(f"saved the restoration plan to {path}: apply it with apply --plan {path}")
    return ExitCode.OK


async def _write_manifests(
    settings: Settings, targets: list[ReportTarget], out: Path, force: bool, console: Console
) -> int:
    """Manifests of the pre-images, as ``export`` writes them (``--force``: update in place)."""
    from reconciler.export import check_not_declared, write_files
    from reconciler.export.build import pre_image_files
    from reconciler.rollback import rows_of
    from reconciler.session import open_client

    async with open_client(settings) as client:
        channels = await client.list_channels()
    images = [(t.targetGroupId, t.targetGroupName, t.targetId, t.targetName) for t in targets]
    rows = [rows_of(t.preImage or [], t.label, t.ref) for t in targets]
    files, errors = pre_image_files(
        list(zip(images, rows, strict=True)), channels, out, settings.root
    )
    # Written where the next plan reads manifests, a target declared there in another file
    # would be declared twice: refused before anything is written, as export refuses it.
    inside = [f for f in files if _under(f.path, settings.manifests)]
    check_not_declared(inside, settings.manifests, variables=settings.env.vars, root=settings.root)
    written = write_files(
        files, force=force, variables=settings.env.vars, ignore=settings.env.ignore
    )
    for file in files:
        for warning in file.warnings:
            console.warn(f"{file.path}: {warning}")
    console.print(
        f"wrote {len(written)} manifest{'s' if len(written) != 1 else ''} of the pre-image to {out}"
    )
    for error in errors:
        console.error(error)
    return ExitCode.FAILURE if errors else ExitCode.OK


def _under(path: Path, manifests: tuple[str, ...]) -> bool:
    """Whether ``path`` is one of the configured manifest paths or inside one (both as given,
    from the working directory)."""
    where = path.resolve()
    return any(where.is_relative_to(Path(m).resolve()) for m in manifests)
