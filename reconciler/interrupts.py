"""SIGTERM while a command is reading ends it at once (issue 14 item 6).

A cancelled CI job sends SIGTERM and kills the job a few seconds later. While a run reads
(plan, drift, export, and apply until its first write) nothing is lost by stopping, so the
signal cancels the run's main task: every request, retry backoff and rate-limiter wait ends
with it, and the command reports ``Interrupted``. Apply's writing phase installs its own
handler instead (finish the writes in flight, start no new ones: ``cli.apply``).

Should the cancelled run not end within a few seconds anyway (a stuck clean-up), a watchdog
reports and exits; so does a second SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Seconds a cancelled run gets to unwind before the watchdog ends the process.
GRACE_SECONDS = 3.0


@dataclass
class Watch:
    """What the handler did; ``signalled`` names the signal once it arrived."""

    task: asyncio.Task[object] | None
    on_hang: Callable[[str], None]
    signalled: str | None = None
    _timer: threading.Timer | None = field(default=None, repr=False)

    def handle(self) -> None:
        if self.signalled is not None:  # a second signal: stop waiting for the clean-up
            self.on_hang(self.signalled)
            return
        self.signalled = "SIGTERM"
        if self.task is not None:
            self.task.cancel()
        timer = threading.Timer(GRACE_SECONDS, self.on_hang, args=(self.signalled,))
        timer.daemon = True
        timer.start()
        self._timer = timer

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


@contextmanager
def sigterm_cancels_task(on_hang: Callable[[str], None]) -> Iterator[Watch]:
    """While inside, SIGTERM cancels the current task (call from within it).

    ``on_hang(signal_name)`` is called from a watchdog thread if the process is still running
    ``GRACE_SECONDS`` after the signal, or on a second signal; it must end the process. After
    a signal the watchdog outlives this block (the event loop's own shutdown could hang too):
    the caller stops it with ``Watch.stop`` once the loop is closed.
    """
    loop = asyncio.get_running_loop()
    watch = Watch(asyncio.current_task(), on_hang)
    installed = False
    try:
        loop.add_signal_handler(signal.SIGTERM, watch.handle)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        pass
    try:
        yield watch
    finally:
        if watch.signalled is None:
            watch.stop()
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)
