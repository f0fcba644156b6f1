"""The desired state after loading and resolving manifests: ids only, no names, no YAML.

The planner consumes these; ``resolve`` produces them from manifest documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """Where something was declared: manifest path (as given by the user) and 1-based position."""

    path: str
    line: int = 0
    column: int = 0

    def render(self) -> str:
        return f"{self.path}:{self.line}:{self.column}" if self.line else self.path


@dataclass(frozen=True)
class DesiredCommunication:
    """One communication as the manifests want it, with its channel resolved to an id."""

    communicationType: str
    channelId: int
    sender: str
    subjectTemplate: str
    messageTemplate: str
    offsetDays: int
    active: bool
    source: Source = field(default=Source(""), compare=False)
    ignore: tuple[str, ...] = ()  # compared fields live edits own (``reconciler.ignore``)

    @property
    def key(self) -> tuple[str, int]:
        return (self.communicationType, self.channelId)


@dataclass(frozen=True)
class DesiredTarget:
    """All communications one manifest document declares for one target."""

    name: str  # metadata.name
    targetGroupId: int
    targetId: int
    prune: bool
    communications: tuple[DesiredCommunication, ...]
    source: Source
    targetGroupName: str = ""
    targetName: str = ""
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def ref(self) -> tuple[int, int]:
        return (self.targetGroupId, self.targetId)
