"""Diagnostic: one located problem in a manifest or configuration file (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem at ``path:line:column`` (1-based); line and column are 0 when unknown."""

    path: str
    line: int
    column: int
    message: str

    def render(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column}: {self.message}"
        return f"{self.path}: {self.message}"

    def to_json(self) -> dict[str, str | int]:
        return asdict(self)
