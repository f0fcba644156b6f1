"""A uvicorn server for a background thread that stops at once when asked (``SandboxServer``).

Imported only when a server thread starts, so that merely finding a running sandbox stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn


class ThreadedServer(uvicorn.Server):
    """uvicorn looks for a shutdown request every 100 ms; a test suite stops hundreds of
    servers, so this one is woken at once instead."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._wake: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    async def main_loop(self) -> None:
        wake = asyncio.Event()
        self._wake = (asyncio.get_running_loop(), wake)
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), 0.1)

    def request_exit(self) -> None:
        self.should_exit = True
        if self._wake is not None:
            loop, wake = self._wake
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(wake.set)
