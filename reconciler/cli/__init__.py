"""The command line: one thin typer function per command over the library (SPEC §5).

``main(argv) -> int`` is the only place that turns errors into ``error:`` lines and exit codes.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from reconciler import __version__
from reconciler.cli.sandbox import sandbox_app
from reconciler.console import Console
from reconciler.errors import Interrupted, ReconcilerError, UsageError
from reconciler.redact import register_environment, scrub

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from reconciler.live import Selection
    from reconciler.plan import Plan

T = TypeVar("T")

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Keep Capillary loyalty target communications in git: validate, plan, apply, drift, export.",
)


@dataclass
class Globals:
    env: str | None = None
    config: Path | None = None
    verbose: bool = False
    no_color: bool = False
    console: Console | None = None

    @property
    def out(self) -> Console:
        if self.console is None:
            self.console = Console(no_color=self.no_color, verbose=self.verbose)
        return self.console


_globals = Globals()


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"reconciler {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _options(
    env: Annotated[
        str | None,
        typer.Option("--env", help="Environment from reconciler.yaml (or RECONCILER_ENV)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Configuration file (default ./reconciler.yaml)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Debug output; tracebacks.")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour (also NO_COLOR).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _globals.env = env
    _globals.config = config
    _globals.verbose = verbose
    _globals.no_color = no_color
    _globals.console = None
    _debug_logging(verbose)


class _DebugLines(logging.Handler):
    """``-v``: log records of ``reconciler.sandbox`` (e.g. why a discovery file was ignored)
    as ``debug:`` lines through the run's console, the only writer to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _globals.out.debug(record.getMessage())
        except Exception:  # a log line must never end the run
            self.handleError(record)


_DEBUG_HANDLER = _DebugLines(logging.DEBUG)
_DEBUG_LOGGERS = ("reconciler.sandbox",)


def _debug_logging(verbose: bool) -> None:
    for name in _DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        if verbose:
            if _DEBUG_HANDLER not in logger.handlers:
                logger.addHandler(_DEBUG_HANDLER)
            logger.setLevel(logging.DEBUG)
        else:
            logger.removeHandler(_DEBUG_HANDLER)
            logger.setLevel(logging.NOTSET)


def _settings(*, network: bool = True) -> object:
    from reconciler.config import select

    return select(_globals.config, _globals.env, network=network)


@app.command()
def validate(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Manifest files or directories.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text | json | github", metavar="FORMAT")
    ] = "text",
) -> int:
    """Check manifests offline and report every problem at once."""
    from reconciler.config import Settings
    from reconciler.manifests import load_manifests

    _check_choice("--format", fmt, ("text", "json", "github"))
    settings = _settings(network=False)
    assert isinstance(settings, Settings)
    result = load_manifests(
        paths or list(settings.manifests), variables=settings.env.vars, root=settings.root
    )
    console = _globals.out
    # Messages are scrubbed one by one: the JSON and the annotations keep their shape.
    diagnostics = [replace(d, message=scrub(d.message)) for d in result.diagnostics]
    if fmt == "json":
        console.raw(json.dumps([d.to_json() for d in diagnostics], indent=2))
    elif fmt == "github":
        from reconciler.render.github import annotation_for

        for d in diagnostics:
            console.raw(annotation_for(d))
    else:
        for d in result.diagnostics:
            console.error(d.render())
    if result.diagnostics:
        if fmt == "text":
            n = len(result.diagnostics)
            console.info(f"{n} problem{'s' if n != 1 else ''} found")
        return 1
    if fmt == "text":
        n, f = len(result.documents), len(result.files)
        console.print(f"ok: {n} document{'s' if n != 1 else ''} in {f} file{'s' if f != 1 else ''}")
    return 0


@app.command()
def schema() -> int:
    """Print the JSON Schema of a manifest document."""
    from reconciler.manifests.schema import json_schema

    sys.stdout.write(json_schema())
    return 0


FormatOption = Annotated[
    str, typer.Option("--format", help="text | json | markdown", metavar="FORMAT")
]
PathsArgument = Annotated[list[str] | None, typer.Argument(help="Manifest files or directories.")]
SelectOption = Annotated[
    list[str] | None, typer.Option("--select", help="k=v: labels, or name=metadata.name.")
]
TargetGroupOption = Annotated[
    str | None, typer.Option("--target-group", help="Only this group (id or name).")
]


def _selection(
    paths: list[str] | None,
    select: list[str] | None,
    target_group: str | None,
    shard: str | None,
) -> Selection:
    from reconciler.live import Selection
    from reconciler.selection import parse_selectors, parse_shard

    parse_selectors(select or [])  # usage errors before any work
    group: int | str | None = target_group
    if target_group is not None and target_group.isdigit():
        group = int(target_group)
    return Selection(
        paths=tuple(paths or ()),
        selectors=tuple(select or ()),
        target_group=group,
        shard=parse_shard(shard),
    )


def _run_async(coroutine: Coroutine[object, object, T]) -> T:
    """``asyncio.run(coroutine)``, but the result never becomes the main task's result.

    On exit Python 3.11's runner restores the SIGINT handler, and ``signal`` formats the old
    handler, a partial holding the main task: repr() of the task and its whole result, twice.
    For a 2,000-target plan that was 1.6 s of CPU spent on a string nobody reads (issue 9).
    """
    import asyncio

    from reconciler.interrupts import Watch, sigterm_cancels_task

    box: list[T] = []
    watches: list[Watch] = []

    async def main() -> None:
        # SIGTERM (a cancelled CI job) ends a reading run at once (issue 14).
        with sigterm_cancels_task(_hung) as watch:
            watches.append(watch)
            try:
                box.append(await coroutine)
            except asyncio.CancelledError:
                if watch.signalled is None:
                    raise  # Ctrl-C: asyncio.run turns it into KeyboardInterrupt
            if watch.signalled is not None:
                raise Interrupted(_interrupted_message(watch.signalled))

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # typer would end it silently with 130
        raise Interrupted(_interrupted_message("Ctrl-C"), 130) from None
    finally:
        for watch in watches:
            watch.stop()
    return box[0]


def _interrupted_message(signal_name: str) -> str:
    return f"interrupted by {signal_name} before the run completed; nothing was written"


def _hung(signal_name: str) -> None:
    """The watchdog: the interrupted run did not unwind in time; report and leave now."""
    _globals.out.error(_interrupted_message(signal_name))
    _flush()
    os._exit(1)


def _run_plan(selection: Selection, *, parallelism: int | None = None) -> Plan:
    from reconciler.config import Settings
    from reconciler.live import make_run_plan
    from reconciler.session import open_client

    settings = _settings()
    assert isinstance(settings, Settings)

    async def go() -> Plan:
        async with open_client(settings, parallelism=parallelism) as client:
            return await make_run_plan(
                settings, selection, client, parallelism=parallelism or settings.env.parallelism
            )

    return _run_async(go())


def _show_plan(plan: Plan, fmt: str, *, drift: bool) -> None:
    from reconciler.render.jsondoc import render_json
    from reconciler.render.markdown import render_markdown
    from reconciler.render.text import render_text
    from reconciler.report import append_step_summary

    console = _globals.out
    if fmt == "json":
        console.print(render_json(plan))
    elif fmt == "markdown":
        console.print(render_markdown(plan, drift=drift))
    else:
        console.print(render_text(plan, color=console.color, drift=drift))
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # only then: rendering is not free at scale
        try:
            append_step_summary(render_markdown(plan, drift=drift))
        except (OSError, ValueError) as exc:  # checked at the start; it went away since
            from reconciler.outputs import STEP_SUMMARY, not_written

            console.warn(not_written(STEP_SUMMARY, os.environ["GITHUB_STEP_SUMMARY"], exc))
    for target in plan.unreadable:
        console.error(
            f"target {target.targetGroupId}/{target.targetId} ({target.name}) could not be read: {target.error}"
        )


@app.command()
def plan(
    paths: PathsArgument = None,
    select: SelectOption = None,
    target_group: TargetGroupOption = None,
    shard: Annotated[str | None, typer.Option("--shard", help="K/N: this job's share.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Save the plan as JSON.")] = None,
    fmt: FormatOption = "text",
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
) -> int:
    """Read live state and print what apply would change."""
    from reconciler.outputs import OutputError, check_step_summary, check_writable, not_written

    _check_choice("--format", fmt, ("text", "json", "markdown"))
    selection = _selection(paths, select, target_group, shard)
    if out is not None:
        check_writable(out, "--out")
    check_step_summary()
    plan = _run_plan(selection)
    _show_plan(plan, fmt, drift=False)
    if out is not None:
        try:
            out.write_text(plan.to_json(), encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise OutputError(not_written("--out", out, exc)) from None
    if plan.unreadable:
        return 1
    return 2 if detailed_exitcode and plan.has_changes else 0


@app.command()
def drift(
    paths: PathsArgument = None,
    select: SelectOption = None,
    target_group: TargetGroupOption = None,
    fmt: FormatOption = "text",
) -> int:
    """Report changes made outside git, with who made them and when; exit 2 on drift."""
    from reconciler.outputs import check_step_summary

    _check_choice("--format", fmt, ("text", "json", "markdown"))
    selection = _selection(paths, select, target_group, None)
    check_step_summary()
    plan = _run_plan(selection)
    _show_plan(plan, fmt, drift=True)
    if plan.unreadable:
        return 1
    return 2 if plan.has_changes else 0


@app.command()
def apply(
    paths: PathsArgument = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Apply this saved plan (from plan --out).")
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask; required without a terminal.")
    ] = False,
    parallelism: Annotated[
        int | None, typer.Option("--parallelism", min=1, max=256, help="Requests in flight.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Apply even above maxDeactivatePercent.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a JSON record of the run.")
    ] = None,
    select: SelectOption = None,
    target_group: TargetGroupOption = None,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            min=0,
            max=86400,
            help="Seconds to wait for another apply in this repository to finish.",
        ),
    ] = 60.0,
) -> int:
    """Make the live state match the manifests; exit 3 unsafe, 4 stale plan."""
    from reconciler.applier.run import ApplyOptions, run_apply
    from reconciler.config import Settings

    if lock_timeout != lock_timeout:  # NaN passes click's range check
        raise UsageError("--lock-timeout must be a number of seconds between 0 and 86400")
    if plan_file is not None and (paths or select or target_group):
        raise UsageError(
            "--plan applies a saved plan as it is; do not combine it with paths or selections"
        )
    selection = _selection(paths, select, target_group, None)
    settings = _settings()
    assert isinstance(settings, Settings)
    from reconciler.outputs import check_step_summary, check_writable

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
    )
    return _run_async(run_apply(settings, selection, options, _globals.out))


@app.command()
def export(
    target_group: Annotated[
        list[str] | None, typer.Option("--target-group", help="Group id or name (repeatable).")
    ] = None,
    all_groups: Annotated[bool, typer.Option("--all", help="Every target group.")] = False,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where to write.")] = Path("manifests"),
    by_name: Annotated[
        bool, typer.Option("--by-name", help="Refer to groups, targets, channels by name.")
    ] = False,
    include_inactive: Annotated[
        bool, typer.Option("--include-inactive", help="Also export inactive communications.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Update existing files in place.")] = False,
) -> int:
    """Write manifests from live state; the next plan shows no change."""
    from reconciler.config import Settings
    from reconciler.export.build import build_export, write_files
    from reconciler.session import open_client

    if not all_groups and not target_group:
        raise UsageError("say what to export: --all or --target-group ID|NAME")
    settings = _settings()
    assert isinstance(settings, Settings)
    groups: list[int | str] = [int(g) if g.isdigit() else g for g in target_group or []]

    async def go() -> tuple[list[object], list[str], list[str]]:
        async with open_client(settings) as client:
            files, notes, errors = await build_export(
                client,
                groups=groups,
                all_groups=all_groups,
                out_dir=out_dir,
                by_name=by_name,
                include_inactive=include_inactive,
                root=settings.root,
                parallelism=settings.env.parallelism,
            )
            return list(files), notes, errors

    files, notes, errors = _run_async(go())
    from reconciler.export.build import ExportedFile

    exported = [f for f in files if isinstance(f, ExportedFile)]
    written = write_files(exported, force=force, variables=settings.env.vars)
    console = _globals.out
    for file in exported:
        for warning in file.warnings:
            console.warn(f"{file.path}: {warning}")
    for note in notes:
        console.info(note)
    console.print(
        f"exported {len(written)} manifest{'s' if len(written) != 1 else ''} to {out_dir}"
    )
    # A target that cannot be written never stops the others; it fails the run.
    for error in errors:
        console.error(error)
    return 1 if errors else 0


app.add_typer(sandbox_app, name="sandbox")


def _check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, not {value!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; every expected error becomes ``error:`` lines."""
    register_environment()
    global _globals
    _globals = Globals()
    try:
        result = app(args=argv, prog_name="reconciler", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _globals.out.error("aborted")
        return 1
    except typer.TyperException as exc:  # usage errors: exit 1, never 2 (SPEC §5)
        formatter = getattr(exc, "format_message", None)
        message = str(formatter()) if callable(formatter) else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `reconciler`: show the help
            sys.stderr.write(message + "\n")
        else:
            _globals.out.error(message)
        return 1
    except ReconcilerError as exc:
        for line in exc.lines():
            _globals.out.error(line)
        _trace()
        return exc.exit_code
    except KeyboardInterrupt:
        _globals.out.error("interrupted")
        return 130
    except Exception as exc:
        _globals.out.error(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)")
        _trace()
        return 1
    return result if isinstance(result, int) else 0


def _trace() -> None:
    if _globals.verbose:
        sys.stderr.write(scrub("".join(traceback.format_exc())))


def run() -> NoReturn:
    """Console-script entry point."""
    # One short process that builds many long-lived objects (manifests, plans) and little
    # cyclic garbage: with the default thresholds, a 10,000-target plan spent a fifth of its
    # CPU in full collections re-scanning objects that stay alive anyway (issue 9).
    gc.set_threshold(20_000, 50, 50)
    code = main()
    # Everything is written by now. Tearing a large plan down object by object took 0.1 s per
    # 1,000 targets and gives nothing back, so the process ends without it (issue 9).
    if _flush():
        os._exit(code)
    sys.exit(code)


def _flush() -> bool:
    """Flush the standard streams; False when that failed (e.g. a closed pipe), so that the
    normal exit reports it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return False
    return True
