"""One apply at a time per repository on one machine (issue 14 item 7).

Two applies started at once would both plan against the same live state and both write it:
every create twice. ``apply`` therefore holds ``.reconciler/apply.lock`` from before its first
request to its end. The lock is an ``flock`` on that file, so the operating system releases it
when the holder exits in any way (even ``kill -9``): a lock file left by a dead process is
simply taken over. The file's content (pid, start time) only names the holder for the message
of a second apply, which waits for it up to a bound and then refuses, writing nothing.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from reconciler.errors import ApplyRefused

LOCK_NAME = "apply.lock"
DEFAULT_LOCK_TIMEOUT = 60.0  # seconds a second apply waits before it refuses
_POLL_SECONDS = 0.1


@asynccontextmanager
async def apply_lock(
    root: Path,
    *,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> AsyncIterator[Path]:
    """Hold the apply lock of the repository at ``root`` for the body; ``on_wait`` is told
    once, naming the holder, when another apply holds it. Refuses (``ApplyRefused``, exit 1)
    when the lock cannot be had within ``timeout`` seconds or cannot be created at all."""
    path = root / ".reconciler" / LOCK_NAME
    fd = _open(path)
    try:
        await _acquire(fd, path, timeout, on_wait)
        _record(fd)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)  # no holder any more; the file stays (unlinking would race)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(exist_ok=True)
        # O_NOFOLLOW: a symlink planted at the lock's path is refused, never written through.
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        return os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            reason = "it is a symbolic link"
        elif path.parent.exists() and not path.parent.is_dir():
            reason = f"{_shown(path.parent)} is not a directory"
        else:
            reason = exc.strerror or str(exc)
        raise ApplyRefused(
            f"cannot create the apply lock {_shown(path)}: {reason}; nothing was written"
        ) from None


async def _acquire(
    fd: int, path: Path, timeout: float, on_wait: Callable[[str], None] | None
) -> None:
    started = time.monotonic()
    deadline = started + max(0.0, timeout)
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        except OSError as exc:
            raise ApplyRefused(
                f"cannot lock {_shown(path)}: {exc.strerror}; nothing was written"
            ) from None
        holder = _holder(fd)
        if time.monotonic() >= deadline:
            raise ApplyRefused(
                f"another apply is running in this repository ({holder}); nothing was "
                f"written. Run apply again when it has finished (the lock is {_shown(path)}; "
                "--lock-timeout SECONDS waits longer)"
            )
        named = holder.startswith("pid ") or time.monotonic() - started > 0.5
        if not told and on_wait is not None and named:
            on_wait(
                f"another apply is running in this repository ({holder}); waiting up to "
                f"{timeout:g} s for it to finish"
            )
            told = True
        await asyncio.sleep(_POLL_SECONDS)


def _record(fd: int) -> None:
    """Write who holds the lock (for the message of an apply that finds it held)."""
    started = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    text = json.dumps({"pid": os.getpid(), "startedAt": started}) + "\n"
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def _holder(fd: int) -> str:
    """``pid 4242, started 2026-03-01T10:00:00Z``, from the lock file, as far as it says."""
    try:
        raw = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        raw = {}
    pid = raw.get("pid") if isinstance(raw, dict) else None
    started = raw.get("startedAt") if isinstance(raw, dict) else None
    if type(pid) is not int:
        return "process not named yet"
    if isinstance(started, str) and started.isprintable() and len(started) <= 40:
        return f"pid {pid}, started {started}"
    return f"pid {pid}"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
