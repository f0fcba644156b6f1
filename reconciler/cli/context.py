"""One run's state, handed to every command by typer as ``ctx.obj``: the global options, the
console built from them, the selected settings, and the event loop the networked commands run
in. Writes only through the console; turns no error into an exit code (``cli.main`` does).
"""

from __future__ import annotations

import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from reconciler.console import Console, flush_streams
from reconciler.errors import ExitCode, Interrupted

if TYPE_CHECKING:
    from reconciler.config import Settings

T = TypeVar("T")


@dataclass
class RunContext:
    """The global options of one run; ``main`` creates it and passes it to typer as ``obj``."""

    env: str | None = None
    config: Path | None = None
    verbose: bool = False
    no_color: bool = False
    _console: Console | None = field(default=None, init=False, repr=False)

    def configure(
        self, *, env: str | None, config: Path | None, verbose: bool, no_color: bool
    ) -> None:
        """Take the global options; the console is built again with them on first use."""
        self.env = env
        self.config = config
        self.verbose = verbose
        self.no_color = no_color
        self._console = None

    @property
    def out(self) -> Console:
        """The run's console, the only writer to stdout and stderr."""
        if self._console is None:
            self._console = Console(no_color=self.no_color, verbose=self.verbose)
        return self._console

    def settings(self, *, network: bool = True) -> Settings:
        """The selected environment; ``network=False`` for offline commands (validate)."""
        from reconciler.config import select

        return select(self.config, self.env, network=network)

    def run_async(self, coroutine: Coroutine[object, object, T]) -> T:
        """``asyncio.run(coroutine)``, but the result never becomes the main task's result.

        On exit Python 3.11's runner restores the SIGINT handler, and ``signal`` formats the
        old handler, a partial holding the main task: repr() of the task and its whole result,
        twice. For a 2,000-target plan that was 1.6 s of CPU spent on a string nobody reads
        (issue 9).
        """
        import asyncio

        from reconciler.interrupts import Watch, sigterm_cancels_task

        box: list[T] = []
        watches: list[Watch] = []

        async def main() -> None:
            # SIGTERM (a cancelled CI job) ends a reading run at once (issue 14).
            with sigterm_cancels_task(self._hung) as watch:
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
            raise Interrupted(_interrupted_message("Ctrl-C"), ExitCode.INTERRUPTED) from None
        finally:
            for watch in watches:
                watch.stop()
        return box[0]

    def _hung(self, signal_name: str) -> None:
        """The watchdog: the interrupted run did not unwind in time; report and leave now."""
        self.out.error(_interrupted_message(signal_name))
        flush_streams()
        os._exit(ExitCode.FAILURE)


def state(ctx: typer.Context) -> RunContext:
    """The run's context: the one ``main`` passed, or (for typer called directly) a fresh one."""
    return ctx.ensure_object(RunContext)


def _interrupted_message(signal_name: str) -> str:
    return f"interrupted by {signal_name} before the run completed; nothing was written"
