"""Diagnostic: one located problem in a manifest or configuration file, and a collector."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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


@dataclass
class Diagnostics:
    """Collects every problem so that validation reports all of them at once."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, path: str, line: int, column: int, message: str) -> None:
        self.items.append(Diagnostic(path, line, column, message))

    def extend(self, other: list[Diagnostic]) -> None:
        self.items.extend(other)

    def __bool__(self) -> bool:
        return bool(self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(set(self.items))
