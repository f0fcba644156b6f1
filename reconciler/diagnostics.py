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

    def github(self) -> str:
        """A GitHub Actions ``::error`` annotation, escaped as the runner expects."""
        props = f"file={_escape_property(self.path)}"
        if self.line:
            props += f",line={self.line},col={self.column}"
        return f"::error {props}::{_escape_data(self.message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


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
