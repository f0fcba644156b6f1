"""Diagnostic: one located problem in a manifest or configuration file (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem at ``path:line:column`` (1-based); line and column are 0 when unknown.

    Lint findings also carry their ``rule`` id, a ``severity`` and a one-line ``fix``; other
    problems (validation) are errors with no rule, and print and serialise as they always did.
    """

    path: str
    line: int
    column: int
    message: str
    rule: str = ""
    severity: Literal["error", "warning"] = "error"
    fix: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def text(self) -> str:
        """The message with the rule id and the fix: ``… [sms-encoding]; fix: …``."""
        if not self.rule:
            return self.message
        return f"{self.message} [{self.rule}]" + (f"; fix: {self.fix}" if self.fix else "")

    def render(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column}: {self.text}"
        return f"{self.path}: {self.text}"

    def to_json(self) -> dict[str, str | int]:
        doc: dict[str, str | int] = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }
        if self.rule:
            doc.update(rule=self.rule, severity=self.severity, fix=self.fix)
        return doc
