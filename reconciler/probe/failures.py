"""The probe's errors: a refusal before anything is written, and a failure after writing
began, which carries what its clean-up did. Both end the run with exit 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import ReconcilerError


class ProbeRefused(ReconcilerError):
    """The probe will not run on this target; nothing was written."""


class ProbeError(ReconcilerError):
    """The probe could not complete; ``more`` are the lines its clean-up adds."""

    def __init__(self, message: str, more: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.more = list(more)

    def lines(self) -> list[str]:
        return [self.message, *self.more]
