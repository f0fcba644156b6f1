"""The exception tree of reconciler; only ``cli.main`` turns these into ``error:`` lines.

    ReconcilerError                 anything the product expects and explains in one line
    ├── UsageError                  bad flags or arguments (exit 1, never 2)
    │   └── OutputError             --out, --report or the step summary cannot be written
    ├── ConfigError                 reconciler.yaml, environment selection, credentials
    ├── ValidationFailed            manifests have problems; carries every Diagnostic
    ├── PlanError                   planning could not complete (e.g. unreadable targets)
    │   └── PlanFileError           a saved plan is unreadable, malformed, or of another format
    ├── ApplyRefused                apply would not start; carries its exit code (1, 3 or 4)
    ├── ExportError                 export could not write what was asked
    ├── Interrupted                 SIGTERM ended a run before it completed
    └── ApiError                    the Capillary API (or the transport) failed
        ├── AuthError               401, or credentials rejected by the token endpoint
        ├── PermissionDenied        403
        ├── NotFoundError           404
        ├── ApiValidationError      400 with the envelope's messages
        ├── RateLimitedError        429 / 503 still failing after retries, or Retry-After too long
        ├── ServerError             5xx after retries, non-JSON bodies, broken envelopes
        │   └── CircuitOpenError    not sent: the run-wide circuit breaker is open
        ├── TransportError          connection errors and timeouts after retries
        └── AmbiguousWriteError     a write may or may not have been committed

Messages never contain secrets: every message passes through ``redact.scrub``. ``ExitCode``
holds the process's exit codes; each error carries the one it ends a run with.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import TYPE_CHECKING

from reconciler.redact import scrub

if TYPE_CHECKING:
    from reconciler.diagnostics import Diagnostic


class ExitCode(IntEnum):
    """What a run's exit status means (SPEC §5); defined here only."""

    OK = 0
    FAILURE = 1  # an error, a manifest problem, an unreadable target, a failed write
    CHANGES = 2  # plan --detailed-exitcode found changes; drift found drift
    UNSAFE = 3  # apply refused by the safety threshold (maxDeactivatePercent)
    STALE = 4  # apply --plan: live state changed since the plan was made
    INTERRUPTED = 130  # Ctrl-C


class ReconcilerError(Exception):
    """Base of every error the product expects; its message is one line for the user."""

    exit_code: int = ExitCode.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(scrub(message))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def lines(self) -> list[str]:
        """The ``error:`` lines this error prints, one per problem."""
        return [self.message]


class UsageError(ReconcilerError):
    """A command was called wrongly."""


class OutputError(UsageError):
    """An output file cannot be written; the message names the file and says why."""


class ConfigError(ReconcilerError):
    """Configuration, environment selection or credentials are wrong or missing."""


class GitError(ReconcilerError):
    """The base of ``--changed-since`` or ``--base`` cannot be read with git; says what to do."""


class ValidationFailed(ReconcilerError):
    """Manifests have one or more problems; ``diagnostics`` holds all of them."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        n = len(self.diagnostics)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found in manifests")

    def lines(self) -> list[str]:
        return [d.render() for d in self.diagnostics]


class PlanError(ReconcilerError):
    """Planning did not complete for every selected target."""


class PlanFileError(PlanError):
    """A saved plan is not valid JSON, not a plan, or of a format version we do not read."""


class ApplyRefused(ReconcilerError):
    """Apply refused to start; nothing was written. ``exit_code`` is FAILURE, UNSAFE or STALE."""

    def __init__(self, message: str, exit_code: int = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ExportError(ReconcilerError):
    """Export could not write what was asked; nothing was written."""


class Interrupted(ReconcilerError):
    """A signal ended the run before it completed: FAILURE for SIGTERM, INTERRUPTED for Ctrl-C."""

    def __init__(self, message: str, exit_code: int = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ApiError(ReconcilerError):
    """The Capillary API answered with an error or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method and path else ""
        super().__init__(f"{where}{message}")


class AuthError(ApiError):
    """Authentication failed (401)."""


class PermissionDenied(ApiError):
    """The credentials lack permission (403); retrying cannot help."""


class NotFoundError(ApiError):
    """The object does not exist (404)."""


class ApiValidationError(ApiError):
    """The API rejected the request body (400)."""


class RateLimitedError(ApiError):
    """Throttled beyond what retries or the run's patience allow."""


class ServerError(ApiError):
    """The server failed (5xx), or answered something that is not the envelope."""


class CircuitOpenError(ServerError):
    """The run-wide circuit breaker is open: the API looks down, so nothing more is sent."""


class TransportError(ApiError):
    """Connection error or timeout that retries did not overcome."""


class AmbiguousWriteError(ApiError):
    """A write was sent and its outcome is unknown; resolve it by re-reading, never by resending."""
