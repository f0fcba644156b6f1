"""The ``apply`` command's flow (SPEC §6): plan or load a saved plan, refuse what is unsafe or
stale before any write, confirm, execute, summarise, report. Exit codes as SPEC §5.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.api.wire import Communication
from reconciler.applier.execute import Applier, ApplyResult, TargetOutcome, stale_targets
from reconciler.applier.lock import DEFAULT_LOCK_TIMEOUT, apply_lock
from reconciler.config import Settings
from reconciler.console import Console
from reconciler.errors import ApplyRefused, ReconcilerError
from reconciler.live import Selection, make_run_plan
from reconciler.outputs import STEP_SUMMARY, not_written
from reconciler.plan import Plan, check_safety
from reconciler.report import append_step_summary, build_report, outcome_markdown, write_report
from reconciler.session import open_client

EXIT_SAFETY = 3
EXIT_STALE = 4
_MARK = {"applied": "✓", "recovered": "✓", "failed": "✗", "skipped": "·"}


@dataclass(frozen=True)
class ApplyOptions:
    plan_file: Path | None = None
    auto_approve: bool = False
    parallelism: int | None = None
    force: bool = False
    report: Path | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT


async def run_apply(
    settings: Settings, selection: Selection, options: ApplyOptions, console: Console
) -> int:
    started = datetime.now(UTC)
    parallelism = options.parallelism or settings.env.parallelism
    plan: Plan | None = None
    result: ApplyResult | None = None
    refused: str | None = None
    # The live state each changed target was planned (or, for a saved plan, re-read) against:
    # the post-write check knows every row's id from it (issue 14).
    live: dict[tuple[int, int], list[Communication]] = {}
    try:
        # Held from before the first request: a second apply plans only after this one is done.
        async with (
            apply_lock(settings.root, timeout=options.lock_timeout, on_wait=console.warn),
            open_client(settings, parallelism=parallelism) as client,
        ):
            if options.plan_file is not None:
                plan = _load_saved(options.plan_file, settings)
            else:
                plan = await make_run_plan(
                    settings, selection, client, parallelism=parallelism, keep_live=live
                )
            _show(plan, console)
            if not plan.has_changes:
                return 1 if plan.unreadable else 0
            problem = check_safety(plan, float(settings.env.maxDeactivatePercent))
            if problem and not options.force:
                raise ApplyRefused(f"refused by the safety threshold: {problem}", EXIT_SAFETY)
            _confirm(options, console)
            if options.plan_file is not None:
                stale = await stale_targets(plan, client, parallelism, keep_live=live)
                if stale:
                    raise ApplyRefused(
                        "stale plan: live state changed since planning for "
                        + "; ".join(stale)
                        + ". Nothing was written; plan again",
                        EXIT_STALE,
                    )
            applier = Applier(client, parallelism=parallelism, on_done=lambda o: _line(o, console))
            result = await _with_signals(applier, plan, console, live)
    except ApplyRefused as exc:
        refused = exc.message
        raise
    finally:
        if options.report is not None and plan is not None:
            report = build_report(
                plan, result, environment=settings.environment, started_at=started, refused=refused
            )
            try:
                write_report(options.report, report)
            except (OSError, ValueError) as exc:  # checked at the start; it went away since
                console.warn(not_written("--report", options.report, exc))
    assert plan is not None
    assert result is not None
    _summary(plan, result, console)
    _warnings(result, console)
    from reconciler.render.markdown import render_markdown

    try:
        append_step_summary(render_markdown(plan) + "\n" + outcome_markdown(result))
    except (OSError, ValueError) as exc:  # a warning: the writes to the API are done
        console.warn(not_written(STEP_SUMMARY, os.environ.get(STEP_SUMMARY, ""), exc))
    if result.fatal_error:
        console.error(result.fatal_error)
    return 0 if result.ok and not plan.unreadable else 1


# A saved plan of 10,000 targets with long templates is tens of MiB; past this it is not one.
MAX_PLAN_BYTES = 512 * 1024 * 1024


def _load_saved(path: Path, settings: Settings) -> Plan:
    text = _read_saved(path)
    plan = Plan.from_json(text)
    if plan.environment != settings.environment:
        raise ApplyRefused(
            f"saved plan {str(path)!r} was made for environment {plan.environment!r}, "
            f"not {settings.environment!r}"
        )
    if plan.unreadable:
        raise ApplyRefused(
            f"saved plan {str(path)!r} has unreadable targets; plan again when they can be read"
        )
    return plan


def _read_saved(path: Path) -> bytes:
    """The saved plan's bytes, refusing before reading anything a plan cannot be: a file
    over ``MAX_PLAN_BYTES`` (even a sparse one) or an endless device; a pipe is read up to
    the limit (``apply --plan <(reconciler plan ...)``)."""
    shown = str(path)
    too_large = f"saved plan {shown!r} is too large (over {MAX_PLAN_BYTES // 2**20} MiB)"
    try:
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            if stat.S_ISREG(info.st_mode):
                if info.st_size > MAX_PLAN_BYTES:
                    raise ApplyRefused(too_large)
            elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                raise ApplyRefused(f"saved plan {shown!r} is a device, not a file")
            data = file.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ApplyRefused(f"cannot read saved plan {shown!r}: {reason}") from None
    except ValueError:  # a NUL byte in the path
        raise ApplyRefused(f"cannot read saved plan {shown!r}: not a valid path") from None
    if len(data) > MAX_PLAN_BYTES:
        raise ApplyRefused(too_large)
    return data


def _show(plan: Plan, console: Console) -> None:
    from reconciler.render.text import render_text

    console.print(render_text(plan, color=console.color))
    for target in plan.unreadable:
        console.error(f"target {target.label} could not be read: {target.error}")


def _confirm(options: ApplyOptions, console: Console) -> None:
    if options.auto_approve:
        return
    if not console.interactive:
        raise ApplyRefused(
            "refusing to apply without a terminal to confirm on; pass --auto-approve"
        )
    if not console.confirm("Apply these changes?"):
        raise ApplyRefused("apply cancelled; nothing was written")


async def _with_signals(
    applier: Applier,
    plan: Plan,
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
        with console.progress(len(plan.changed_targets), "applying") as bar:
            previous = applier.on_done

            def done(outcome: TargetOutcome) -> None:
                if previous:
                    previous(outcome)
                bar.advance()

            applier.on_done = done
            result = await applier.apply(plan, live)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    if applier.fatal is not None:
        result.fatal_error = applier.fatal.message
    return result


def _line(outcome: TargetOutcome, console: Console) -> None:
    from reconciler.render.github import one_line

    target = outcome.target
    # The label is the manifest's metadata.name: printed inert, like everything from manifests.
    console.print(one_line(f"{_MARK[outcome.status]} {target.label}: {outcome.message}"))


def _summary(plan: Plan, result: ApplyResult, console: Console) -> None:
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
    if plan.unreadable:
        line += f", {len(plan.unreadable)} unreadable"
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


__all__ = ["ApplyOptions", "ReconcilerError", "run_apply"]
