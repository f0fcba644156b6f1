"""The only writer to stdout and stderr: colour decision, ``error:`` lines, prompts, progress.

Under GitHub Actions, text that came from manifests or the API is fenced with
``::stop-commands::`` so a template line like ``::add-mask::`` is never taken as a command.

Product text (``print``, ``raw``) is written byte for byte: it is built from manifests and API
data only, and masking it would change what ``apply --plan`` of a saved stdout writes (issue 14).
Messages (``error``, ``warn``, ``info``, ``debug``) may quote a server's answer, so they are
scrubbed of secrets first, then flattened to one line.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from reconciler.redact import scrub

if TYPE_CHECKING:
    from rich.console import Console as RichConsole


class Console:
    """Writes user-facing output; tests construct it with their own streams."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        *,
        no_color: bool = False,
        verbose: bool = False,
        stdin: TextIO | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin
        self.verbose = verbose
        self._bar: _Bar | None = None  # the progress bar on screen, if any
        self.color = (
            not no_color
            and "NO_COLOR" not in os.environ
            and (_isatty(self.out) or bool(os.environ.get("FORCE_COLOR")))
        )

    @property
    def github_actions(self) -> bool:
        return os.environ.get("GITHUB_ACTIONS") == "true"

    def print(self, text: str = "") -> None:
        """Print product text (plans, summaries) to stdout unchanged, inert under GitHub Actions."""
        if self.github_actions and text and not _is_file(self.out):
            # Only the runner's log reads workflow commands; a redirect to a file stays clean.
            token = secrets.token_hex(16)
            text = f"::stop-commands::{token}\n{text}\n::{token}::"
        line = text if text.endswith("\n") else text + "\n"
        if self._bar is not None and _isatty(self.out):
            self._bar.above(line)  # the bar and stdout share the screen: never interleave
            return
        self.out.write(line)
        self.out.flush()

    def raw(self, text: str) -> None:
        """Print lines meant for the CI runner itself (annotations), unchanged and not fenced."""
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()

    def write(self, text: str, *, err: bool = False) -> None:
        """Write ``text`` exactly as given, to stdout (or stderr): nothing added, fenced or
        scrubbed, and left to the exit to flush. For text that is already whole: the version,
        the schema, help, a traceback."""
        (self.err if err else self.out).write(text)

    def error(self, message: str) -> None:
        self._err_line(f"error: {_one_line(message)}\n")

    def warn(self, message: str) -> None:
        self._err_line(f"warning: {_one_line(message)}\n")

    def info(self, message: str) -> None:
        self._err_line(f"{_one_line(message)}\n")

    def debug(self, message: str) -> None:
        if self.verbose:
            self._err_line(f"debug: {scrub(message)}\n")

    def _err_line(self, line: str) -> None:
        if self._bar is not None:
            self._bar.above(line)
            return
        self.err.write(line)
        self.err.flush()

    @property
    def interactive(self) -> bool:
        return _isatty(self.stdin) and _isatty(self.err)

    def confirm(self, question: str) -> bool:
        """Ask on stderr; only the exact answer ``yes`` proceeds. Ctrl-C or the end of input
        is a no, at once: the read is interrupted, not left waiting for a line."""
        try:
            # Set before the question is out: a Ctrl-C as soon as it shows must not be missed.
            with _ctrl_c_interrupts_reading():
                self.err.write(f"{question} Only 'yes' will be accepted: ")
                self.err.flush()
                _wait_readable(self.stdin)
                answer = self.stdin.readline()
        except _CtrlC:
            self.err.write("\n")
            self.err.flush()
            return False
        return answer.strip() == "yes"

    def ask(self, question: str, default: str) -> str:
        """Ask on stderr for one line; an empty answer (or end of input) is ``default``."""
        self.err.write(f"{question} [{default}]: ")
        self.err.flush()
        answer = self.stdin.readline().strip()
        return answer or default

    @contextmanager
    def progress(self, total: int, label: str) -> Iterator[_Progress]:
        """A progress bar with the count and an ETA on stderr, when it is a terminal and there
        are more than 20 items. ``total`` may grow (``set_total``) while items are found: the
        bar appears once it passes 20. While it is shown, every line this console writes is
        printed above it, never into it."""
        progress = _Progress(self, label, total)
        try:
            yield progress
        finally:
            progress.close()


class _Bar:
    """A rich progress bar on the console's stderr (a terminal)."""

    def __init__(self, stream: TextIO, label: str, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("targets, ETA"),
            TimeRemainingColumn(),
            console=_rich_console(stream),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.progress.add_task(label, total=total)
        self.progress.start()

    def above(self, line: str) -> None:
        from rich.text import Text

        # Text as it is: no markup, no highlighting, no wrapping into the bar's width.
        self.progress.console.print(Text(line.rstrip("\n")), soft_wrap=True)


class _Progress:
    """What a command advances; draws nothing unless the console decides to show a bar."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        self._console = console
        self._label = label
        self._total = total
        self._done = 0
        self._bar: _Bar | None = None
        self._show()

    def set_total(self, total: int) -> None:
        self._total = total
        if self._bar is not None:
            self._bar.progress.update(self._bar.task, total=total)
        self._show()

    def advance(self) -> None:
        self.update(self._done + 1, self._total)

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` (which may have grown since)."""
        self._done = done
        if total != self._total:
            self.set_total(total)
        if self._bar is not None:
            self._bar.progress.update(self._bar.task, completed=done)

    def _show(self) -> None:
        console = self._console
        wanted = self._bar is None and self._total > 20 and console._bar is None
        if wanted and _isatty(console.err):
            self._bar = _Bar(console.err, self._label, self._total)
            self._bar.progress.update(self._bar.task, completed=self._done)
            console._bar = self._bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.progress.stop()
            if self._console._bar is self._bar:
                self._console._bar = None
            self._bar = None


class _CtrlC(Exception):
    """Ctrl-C while a prompt waits for its answer."""


@contextmanager
def _ctrl_c_interrupts_reading() -> Iterator[None]:
    """Within: SIGINT raises ``_CtrlC`` in the reading thread. asyncio's own handler only
    cancels the main task, which a blocking read inside it never notices, so the prompt would
    wait for a line. Outside the main thread (no handler can be set) nothing changes."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise _CtrlC

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_readable(stream: TextIO) -> None:
    """Until ``stream`` has a line (a terminal in canonical mode) or its end, waking every
    0.2 s: the signal may have gone to another thread, and only a main thread that runs
    Python code again calls the handler."""
    import select

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests): read at once
        return
    while not select.select([fd], [], [], 0.2)[0]:
        pass


def flush_streams() -> bool:
    """Flush the standard streams; False when that failed (e.g. a closed pipe), so that the
    normal exit reports it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return False
    return True


def _one_line(message: str) -> str:
    """A message as one inert line: it may quote manifests or the API, and a line break in
    it would start a line the reader (or the Actions runner) takes for something else."""
    from reconciler.render.github import neutralize_commands, one_line

    return neutralize_commands(one_line(scrub(message)))


def _rich_console(stream: TextIO) -> RichConsole:
    from rich.console import Console as RichConsole

    return RichConsole(file=stream, stderr=True)


def _is_file(stream: TextIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
