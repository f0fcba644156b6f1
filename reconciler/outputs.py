"""Files a command writes besides the API: ``plan --out``, ``apply --report`` and
``$GITHUB_STEP_SUMMARY`` (issue 14 item 10).

``check_writable`` runs before the first request, so a path that cannot be written fails the
command with one ``error:`` line while nothing has been sent. It creates nothing and changes
nothing: an existing file is opened for appending (never truncated) and closed again; a missing
one needs a writable directory. The files themselves are written only at the end of the run,
so a run that fails early leaves an existing file as it was and creates none.

What a failure to write them at the end means is the caller's decision: for ``plan --out``
an error (the saved plan is what was asked for), for the step summary and, once apply has
written to the API, for the report a warning that changes no exit code.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from reconciler.errors import OutputError as OutputError

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def check_writable(path: Path | str, what: str) -> None:
    """Raise ``OutputError`` unless ``path`` could be written (or appended to) now.

    ``what`` names the file for the message: ``--report``, ``--out``, ``GITHUB_STEP_SUMMARY``.
    """
    shown = str(path)
    try:
        info = os.stat(path)  # follows symlinks: what matters is where the bytes would go
    except FileNotFoundError:
        # A dangling symlink would create its target: that target's directory must exist.
        where = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
        _check_directory(where.parent, what, shown)
        return
    except OSError as exc:
        raise _error(what, shown, exc) from None
    except ValueError:  # an embedded NUL byte
        raise OutputError(f"{what} {shown!r} cannot be written: not a valid path") from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{what} {shown!r} cannot be written: it is a directory")
    if not stat.S_ISREG(info.st_mode):
        # A pipe or a device (/dev/stdout, a FIFO): opening it could consume or signal the
        # reader, so only the permission is checked.
        if not _access(shown, os.W_OK):
            raise OutputError(f"{what} {shown!r} cannot be written: permission denied")
        return
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        os.close(os.open(path, flags))  # no O_CREAT, no O_TRUNC: nothing changes
    except OSError as exc:
        raise _error(what, shown, exc) from None


def _check_directory(directory: Path, what: str, shown: str) -> None:
    try:
        info = directory.stat()
    except FileNotFoundError:
        raise OutputError(
            f"{what} {shown!r} cannot be written: directory {str(directory)!r} does not exist"
        ) from None
    except OSError as exc:
        raise _error(what, shown, exc) from None
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(
            f"{what} {shown!r} cannot be written: {str(directory)!r} is not a directory"
        )
    if not _access(str(directory), os.W_OK | os.X_OK):
        # access(2) also answers EROFS for a read-only file system.
        raise OutputError(
            f"{what} {shown!r} cannot be written: directory {str(directory)!r} is not writable"
        )


def _access(path: str, mode: int) -> bool:
    effective = os.access in os.supports_effective_ids
    return os.access(path, mode, effective_ids=effective)


def _error(what: str, shown: str, exc: OSError) -> OutputError:
    reason = {
        errno.ENOTDIR: "a part of the path is not a directory",
        errno.EISDIR: "it is a directory",
        errno.EROFS: "read-only file system",
    }.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return OutputError(f"{what} {shown!r} cannot be written: {reason}")


def check_step_summary(environ: Mapping[str, str] | None = None) -> None:
    """``check_writable`` for ``$GITHUB_STEP_SUMMARY`` when it is set (and not empty)."""
    path = (os.environ if environ is None else environ).get(STEP_SUMMARY)
    if path:
        check_writable(path, STEP_SUMMARY)


def not_written(what: str, path: Path | str, exc: OSError | ValueError) -> str:
    """The one line saying that an output file could not be written at the end of a run."""
    return f"{what} {str(path)!r} could not be written: {failure_reason(exc)}"


def failure_reason(exc: OSError | ValueError) -> str:
    """One line for a failed write: the OS's reason, never a traceback."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__
