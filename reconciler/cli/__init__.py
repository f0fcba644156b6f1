"""The command line (SPEC §5): the typer app, ``main(argv) -> int`` and the ``run`` entry point.

One module per command (``validate``, ``plan``, ``apply``, ``export``, ``probe``, ``sandbox``), each a thin
typed function over the library; ``main`` is the one place that turns errors into ``error:``
lines and ``ExitCode``s. Every byte goes out through the run's console.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from typer.core import TyperGroup

from reconciler import __version__
from reconciler.cli import (
    apply,
    export,
    history,
    init,
    lint,
    plan,
    preview,
    probe,
    rollback,
    sandbox,
    validate,
)
from reconciler.cli.context import RunContext, state
from reconciler.cli.options import complete_environment, hoist_global_options, plain_help
from reconciler.console import flush_streams
from reconciler.errors import ExitCode, ReconcilerError
from reconciler.redact import register_environment, scrub

if TYPE_CHECKING:
    from typer._click.core import Context as ClickContext  # typer's own click


class _Root(TyperGroup):
    """The app's group: the global options of ``_options`` are also taken after the command
    (``reconciler plan --env prod-eu -v``), for every command added with ``app.command()`` or
    ``app.add_typer()``; see ``options.hoist_global_options``."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        plain_help(self)  # readable metavars, "(repeatable)": for every command's --help
        hoisted = hoist_global_options(self, args, completing=ctx.resilient_parsing)
        return super().parse_args(ctx, hoisted)


app = typer.Typer(
    cls=_Root,
    add_completion=True,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Keep Capillary loyalty target communications in git: validate, plan, apply, drift, export.",
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        state(ctx).out.write(f"reconciler {__version__}\n")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _options(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="NAME",
            help="Environment from reconciler.yaml.  [default: RECONCILER_ENV, else "
            "defaultEnvironment, else sandbox]",
            autocompletion=complete_environment,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Configuration file.  [default: reconciler.yaml here or in the nearest "
            "parent directory]",
        ),
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
    context = state(ctx)
    context.configure(env=env, config=config, verbose=verbose, no_color=no_color)
    _debug_logging(context)


# The commands, in the order --help lists them.
app.command()(validate.validate)
app.command()(lint.lint)
app.command()(validate.schema)
app.command()(plan.plan)
app.command(help=plan.DRIFT_HELP)(plan.drift)
app.command(help=apply.HELP)(apply.apply)
app.command(help=rollback.HELP)(rollback.rollback)
app.command()(history.history)
app.command()(export.export)
app.command()(preview.preview)
app.command(help=probe.HELP)(probe.probe)
app.command(help=init.HELP)(init.init)
app.add_typer(sandbox.sandbox_app, name="sandbox")


class _DebugLines(logging.Handler):
    """``-v``: log records of ``reconciler.sandbox`` (e.g. why a discovery file was ignored)
    as ``debug:`` lines through the run's console, the only writer to stderr."""

    def __init__(self, context: RunContext) -> None:
        super().__init__(logging.DEBUG)
        self.context = context

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.context.out.debug(record.getMessage())
        except Exception:  # a log line must never end the run
            self.handleError(record)


_DEBUG_LOGGERS = ("reconciler.sandbox",)


def _debug_logging(context: RunContext) -> None:
    """With ``-v``, send the debug loggers to the run's console; a previous run's handler
    (``main`` runs many times in one test process) is taken off either way."""
    for name in _DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, _DebugLines)]:
            logger.removeHandler(handler)
        if context.verbose:
            logger.addHandler(_DebugLines(context))
            logger.setLevel(logging.DEBUG)
        else:
            logger.setLevel(logging.NOTSET)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; every expected error becomes ``error:`` lines."""
    register_environment()
    context = RunContext()
    try:
        result = app(args=argv, prog_name="reconciler", standalone_mode=False, obj=context)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        context.out.error("aborted")
        return ExitCode.FAILURE
    except typer.TyperException as exc:  # usage errors: exit 1, never 2 (SPEC §5)
        formatter = getattr(exc, "format_message", None)
        message = str(formatter()) if callable(formatter) else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `reconciler`: show the help
            context.out.write(message + "\n", err=True)
        else:
            context.out.error(message)
        return ExitCode.FAILURE
    except ReconcilerError as exc:
        for line in exc.lines():
            context.out.error(line)
        _trace(context)
        return exc.exit_code
    except KeyboardInterrupt:
        context.out.error("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as exc:
        context.out.error(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)")
        _trace(context)
        return ExitCode.FAILURE
    return result if isinstance(result, int) else ExitCode.OK


def _trace(context: RunContext) -> None:
    if context.verbose:
        context.out.write(scrub("".join(traceback.format_exc())), err=True)


def run() -> NoReturn:
    """Console-script entry point."""
    # One short process that builds many long-lived objects (manifests, plans) and little
    # cyclic garbage: with the default thresholds, a 10,000-target plan spent a fifth of its
    # CPU in full collections re-scanning objects that stay alive anyway (issue 9).
    gc.set_threshold(20_000, 50, 50)
    code = main()
    # Everything is written by now. Tearing a large plan down object by object took 0.1 s per
    # 1,000 targets and gives nothing back, so the process ends without it (issue 9).
    if flush_streams():
        os._exit(code)
    sys.exit(code)
