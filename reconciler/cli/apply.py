"""``reconciler apply`` (SPEC §6): plan or load a saved plan, refuse what is unsafe or stale
before any write, confirm, execute, summarise, report. The executing is ``applier``'s; this
module decides what is shown and asked, and with which exit code.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import reconciler.cli.results as results
from reconciler.applier.lock import DEFAULT_LOCK_TIMEOUT
from reconciler.cli.context import state
from reconciler.cli.options import (
    ChangedSinceOption,
    RateLimitOption,
    SelectOption,
    TargetGroupOption,
    check_rate_limit,
    selection,
)
from reconciler.errors import ApplyRefused, ExitCode, UsageError

if TYPE_CHECKING:
    from reconciler.api.wire import Communication
    from reconciler.applier.execute import Applier, ApplyResult, TargetOutcome, Writer
    from reconciler.applier.repair import RepairRecord
    from reconciler.config import Settings
    from reconciler.console import Console
    from reconciler.contract import Contract
    from reconciler.live import Selection
    from reconciler.plan import Plan

    Ref = tuple[int, int]

HELP = (
    "Make the live state match the manifests; "
    f"exit {ExitCode.UNSAFE} unsafe, {ExitCode.STALE} stale plan."
)


def apply(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None, typer.Argument(help="Manifest files or directories.")
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", metavar="FILE", help="Apply this saved plan (from plan --out)."),
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask; required without a terminal.")
    ] = False,
    parallelism: Annotated[
        int | None,
        typer.Option(
            "--parallelism",
            min=1,
            max=256,
            metavar="N",
            help="Requests in flight.  [default: the environment's parallelism, 8]",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Apply even above maxDeactivatePercent.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", metavar="FILE", help="Write a JSON record of the run."),
    ] = None,
    select: SelectOption = None,
    target_group: TargetGroupOption = None,
    changed_since: ChangedSinceOption = None,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            metavar="SECONDS",
            min=0,
            max=86400,
            help="Seconds to wait for another apply in this repository to finish.",
        ),
    ] = DEFAULT_LOCK_TIMEOUT,
    rate_limit: RateLimitOption = None,
) -> int:
    # The help is HELP: it names the exit codes from ExitCode.
    from reconciler.outputs import check_step_summary, check_writable

    if lock_timeout != lock_timeout:  # NaN passes click's range check
        raise UsageError("--lock-timeout must be a number of seconds between 0 and 86400")
    check_rate_limit(rate_limit)
    if plan_file is not None and (paths or select or target_group or changed_since):
        raise UsageError(
            "--plan applies a saved plan as it is; do not combine it with paths or selections"
        )
    chosen = selection(paths, select, target_group, None, changed_since=changed_since)
    run = state(ctx)
    settings = run.settings()
    if report is not None:
        check_writable(report, "--report")
    check_step_summary()
    options = ApplyOptions(
        plan_file=plan_file,
        auto_approve=auto_approve,
        parallelism=parallelism,
        force=force,
        report=report,
        lock_timeout=lock_timeout,
        rate_limit=rate_limit,
    )
    return run.run_async(run_apply(settings, chosen, options, run.out))


@dataclass(frozen=True)
class ApplyOptions:
    plan_file: Path | None
    auto_approve: bool
    parallelism: int | None
    force: bool
    report: Path | None
    lock_timeout: float
    rate_limit: float | None = None  # --rate-limit: replaces the environment's rateLimit


# Plans a run in place of ``make_run_plan`` (``rollback``): (client, parallelism, live to keep).
Planner = Callable[["Writer", int, dict[tuple[int, int], list["Communication"]]], Awaitable["Plan"]]


async def run_apply(
    settings: Settings,
    chosen: Selection,
    options: ApplyOptions,
    console: Console,
    planner: Planner | None = None,
) -> int:
    """Plan (or load, or with ``planner`` make) a plan, then apply it under every rule."""
    from reconciler.applier.body import contract_problem
    from reconciler.applier.execute import Applier, stale_targets
    from reconciler.applier.lock import apply_lock
    from reconciler.applier.saved import load_saved
    from reconciler.live import make_run_plan, run_contract
    from reconciler.plan import check_safety
    from reconciler.session import open_client

    started = datetime.now(UTC)
    active = run_contract(settings)
    impossible = contract_problem(active.contract)
    if impossible:
        raise ApplyRefused(impossible)
    parallelism = options.parallelism or settings.env.parallelism
    planned: Plan | None = None
    result: ApplyResult | None = None
    refused: str | None = None
    # The live state each changed target was planned (or, for a saved plan, re-read) against:
    # the post-write check knows every row's id from it (issue 14).
    live: dict[tuple[int, int], list[Communication]] = {}
    labels: dict[tuple[int, int], dict[str, str]] = {}
    applier: Applier | None = None
    try:
        # Held from before the first request: a second apply plans only after this one is done.
        async with (
            apply_lock(settings.root, timeout=options.lock_timeout, on_wait=console.warn),
            open_client(settings, parallelism=parallelism, rate_limit=options.rate_limit) as client,
        ):
            if options.plan_file is not None:
                planned = load_saved(options.plan_file, settings.environment, active.contract)
            elif planner is not None:
                planned = await planner(client, parallelism, live)
            else:
                with console.progress(0, "reading") as bar:
                    planned = await make_run_plan(
                        settings,
                        chosen,
                        client,
                        parallelism=parallelism,
                        keep_live=live,
                        contract=active.contract,
                        labels=labels,
                        on_progress=bar.update,
                    )
            results.show(planned, console)
            repairs = _restorable(settings, active.contract, console)
            held = {t.ref for t in planned.targets} if planner else None  # a rollback's: its own
            repairs = [r for r in repairs if held is None or r[1].ref in held]
            if not planned.has_changes and not repairs:
                return ExitCode.FAILURE if planned.unreadable else ExitCode.OK
            problem = check_safety(planned, float(settings.env.maxDeactivatePercent))
            if problem and not options.force:
                raise ApplyRefused(f"refused by the safety threshold: {problem}", ExitCode.UNSAFE)
            _confirm(options, console)
            if options.plan_file is not None:
                stale = await stale_targets(planned, client, parallelism, keep_live=live)
                if stale:
                    raise ApplyRefused(
                        "stale plan: live state changed since planning for "
                        + "; ".join(stale)
                        + ". Nothing was written; plan again",
                        ExitCode.STALE,
                    )
            applier = Applier(
                client,
                parallelism=parallelism,
                on_done=lambda o: results.line(o, console),
                contract=active.contract,
                # Nothing proved or stated the contract: the first target checks it (SPEC §9).
                canary=not active.proven,
                record=True,  # each target's pre-image, for rollback (issue 19)
            )
            result = await _with_signals(applier, planned, console, live)
            await _repair(applier, result, repairs, settings, console)
    except ApplyRefused as exc:
        refused = exc.message
        raise
    finally:
        if planned is not None:
            pre_images = applier.pre_images if applier is not None else {}
            record = (planned, result, pre_images, labels)
            _write_report(options.report, record, settings, started, refused, console)
    # The body returned or raised unless it set both.
    assert planned is not None
    assert result is not None
    results.finish(planned, result, console)
    return ExitCode.OK if result.ok and not planned.unreadable else ExitCode.FAILURE


def _restorable(
    settings: Settings, contract: Contract, console: Console
) -> list[tuple[Path, RepairRecord]]:
    """The records of server fields an earlier canary emptied that this run can write back:
    all of them when the contract echoes server fields, else none (each one is named)."""
    from reconciler.applier.repair import pending_repairs

    pending = pending_repairs(settings.root, settings.environment)
    if not contract.keepsServerFields:
        return pending
    for _, record in pending:
        ids = ", ".join(str(i) for i in sorted(record.serverFields))
        console.warn(
            f"{record.label}: a canary run's write emptied server fields of ids {ids}; the "
            "first apply whose contract says keepsServerFields: false writes them back "
            "(run `reconciler probe`)"
        )
    return []


async def _repair(
    applier: Applier,
    result: ApplyResult,
    repairs: list[tuple[Path, RepairRecord]],
    settings: Settings,
    console: Console,
) -> None:
    """Keep what a failed canary emptied; write back what earlier ones did (SPEC §9)."""
    from reconciler.applier.repair import record_lost_fields, restore

    if result.canary is not None and result.canary_target is not None:
        path = record_lost_fields(
            settings.root, settings.environment, result.canary_target, result.canary
        )
        if path is not None:
            console.warn(
                f"the server fields the canary's write emptied are kept in {path}: the next "
                "apply whose contract says keepsServerFields: false writes them back"
            )
    if result.fatal_error is not None or result.interrupted:
        return
    for path, record in repairs:
        outcome = await restore(applier, record)
        results.line(outcome, console)
        result.repairs.append(outcome)
        if outcome.ok:
            path.unlink(missing_ok=True)


def _write_report(
    path: Path | None,
    record: tuple[Plan, ApplyResult | None, dict[Ref, list[dict[str, object]]], dict[Ref, Any]],
    settings: Settings,
    started: datetime,
    refused: str | None,
    console: Console,
) -> None:
    from reconciler.report import record_run

    planned, result, pre_images, labels = record
    problem = record_run(
        path, planned, result, pre_images, labels, settings.root, settings.environment,
        started_at=started, refused=refused, endpoint=settings.env.endpoint,
    )  # fmt: skip
    if problem:
        console.warn(problem)


def _confirm(options: ApplyOptions, console: Console) -> None:
    if options.auto_approve:
        return
    if not console.interactive:
        raise ApplyRefused(
            "refusing to apply without a terminal to confirm on; pass --auto-approve"
        )
    if not console.confirm("Apply these changes?"):
        raise ApplyRefused("apply cancelled, nothing written")


async def _with_signals(
    applier: Applier,
    planned: Plan,
    console: Console,
    live: dict[tuple[int, int], list[Communication]] | None = None,
) -> ApplyResult:
    """SIGTERM and Ctrl-C let in-flight targets finish and start no new ones (issue 10)."""
    loop = asyncio.get_running_loop()
    installed = []

    def stop() -> None:
        if not applier.stop.is_set():
            console.warn("interrupted: finishing requests in flight, starting no new ones")
        applier.stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    try:
        with console.progress(len(planned.changed_targets), "applying") as bar:
            previous = applier.on_done

            def done(outcome: TargetOutcome) -> None:
                if previous:
                    previous(outcome)
                bar.advance()

            applier.on_done = done
            result = await applier.apply(planned, live)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    if applier.fatal is not None:
        result.fatal_error = applier.fatal.message
    return result
