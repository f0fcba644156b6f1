"""The probe's journal, ``.reconciler/probe-<environment>.journal.json``: written before the
first write and after every row the probe learns it created, so that an interrupted probe's
rows are found and cleaned up by the next one. Owns the file only; sends nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.errors import ConfigError
from reconciler.localstate import read_state, write_state


def journal_path(root: Path, environment: str) -> Path:
    return root / ".reconciler" / f"probe-{environment}.journal.json"


class Journal(BaseModel):
    """What one probe may have left on its scratch target.

    ``marker`` starts the message template of every row the probe writes; ``keys`` are the
    (communicationType, channelId) it wrote without an id (each may have made a row), and
    ``created`` the ids it saw. ``restore`` holds the target's own active rows as they were,
    set once the server turned out to replace the whole set: every later write carries them.
    """

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    environment: str
    endpoint: str
    targetGroupId: int
    targetId: int
    marker: str
    startedAt: str
    body: Literal["array", "object"] = "array"
    keys: list[tuple[str, int]] = Field(default_factory=list)
    created: list[int] = Field(default_factory=list)
    restore: list[dict[str, object]] = Field(default_factory=list)

    def note_keys(self, keys: list[tuple[str, int]]) -> bool:
        """Add keys not noted yet; True when the journal changed."""
        new = [key for key in keys if key not in self.keys]
        self.keys.extend(new)
        return bool(new)

    def note_created(self, ids: list[int]) -> bool:
        new = sorted({i for i in ids if i not in self.created})
        self.created.extend(new)
        return bool(new)


def read_journal(path: Path) -> Journal | None:
    """The journal at ``path``, None when there is none; an unreadable one is a ConfigError
    (deleting it blindly could leave a probe's rows active, so the user decides)."""
    journal, problem = read_state(path, Journal, "probe journal")
    if problem is not None:
        raise ConfigError(
            f"{path}: not a probe journal; check the scratch target for active rows whose "
            "message starts with 'reconciler probe', then delete the file"
        )
    return journal


def write_journal(path: Path, journal: Journal) -> None:
    """Write atomically: a temporary file renamed over the old one."""
    write_state(path, journal)


def remove_journal(path: Path) -> None:
    path.unlink(missing_ok=True)
