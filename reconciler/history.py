"""The runs apply keeps (issue 19): the report of every apply that wrote, with each written
target's pre-image (its live rows as read before the first write). With ``--report FILE`` the
report is that file; without it, ``.reconciler/history/<environment>/<time>.json``, the last
``HISTORY_KEPT`` kept. ``reconciler history`` lists them, ``reconciler rollback`` reads one.

Reads and writes local files only (and asks git for the commit); prints nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from reconciler.errors import UsageError
from reconciler.localstate import write_atomically
from reconciler.plan import NamedTarget

HISTORY_KEPT = 50
# A report holds every body sent and answered: one of 10,000 targets is tens of MiB.
MAX_REPORT_BYTES = 512 * 1024 * 1024


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ReportRequest(_Read):
    sent: list[dict[str, Any]] = []
    response: list[dict[str, Any]] | None = None
    error: str | None = None


class ReportTarget(NamedTarget, _Read):
    """One target of a run report, as ``rollback`` and ``history`` read it."""

    targetGroupId: int
    targetId: int
    name: str = ""
    targetGroupName: str = ""
    targetName: str = ""
    labels: dict[str, str] = {}
    manifest: str = ""
    outcome: str = ""
    requests: list[ReportRequest] = []
    preImage: list[dict[str, Any]] | None = None


class RunReport(_Read):
    formatVersion: Literal[1]
    environment: str
    endpoint: str | None = None
    startedAt: str
    finishedAt: str = ""
    commit: str | None = None
    github: dict[str, str] | None = None
    refused: str | None = None
    interrupted: bool = False
    targets: list[ReportTarget] = []

    @property
    def touched(self) -> list[ReportTarget]:
        """The targets whose pre-image was kept: those apply started writing to."""
        return [t for t in self.targets if t.preImage is not None]

    @property
    def outcome(self) -> str:
        if self.refused:
            return "refused"
        failed = sum(1 for t in self.targets if t.outcome == "failed")
        if failed:
            return f"{failed} failed"
        return "interrupted" if self.interrupted else "ok"


def history_dir(root: Path, environment: str) -> Path:
    """Where the runs of ``environment`` are kept (a name a path cannot be made of is kept
    apart by its safe spelling)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", environment).lstrip(".") or "_"
    return root / ".reconciler" / "history" / safe


# The name of a kept run: only files so named are ever removed from the history.
_RUN_NAME = re.compile(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{6}Z\.json")


def store_run(root: Path, environment: str, text: str, now: datetime | None = None) -> Path:
    """Keep a run's report; the oldest runs beyond ``HISTORY_KEPT`` are removed (no other
    file). ValueError if the environment's directory leads outside the history (a link)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    directory = history_dir(root, environment)
    base = directory.parent
    base.mkdir(parents=True, exist_ok=True)
    if directory.is_symlink() or not directory.resolve().is_relative_to(base.resolve()):
        raise ValueError(f"{directory} leads outside {base}: nothing was kept there")
    path = directory / f"{moment.strftime('%Y-%m-%dT%H-%M-%S.%fZ')}.json"
    write_atomically(path, text)
    runs = sorted(p for p in directory.glob("*.json") if _RUN_NAME.fullmatch(p.name))
    for old in runs[:-HISTORY_KEPT]:
        old.unlink(missing_ok=True)
    return path


def commit_of(root: Path, environ: Mapping[str, str]) -> str | None:
    """The commit a run applied: ``GITHUB_SHA`` in Actions, else git's HEAD, else None."""
    if environ.get("GITHUB_SHA"):
        return environ["GITHUB_SHA"]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"],  # noqa: S607 - git from PATH
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", head) else None


def read_report(path: Path) -> RunReport:
    """The run report at ``path`` (``apply --report`` or a history file); UsageError, naming
    the file, for anything else."""
    shown = str(path)
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise UsageError(f"report {shown!r} is too large to be a run report")
        with path.open("rb") as file:  # bounded: a device or a pipe has no size to check
            raw = file.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read report {shown!r}: {exc.strerror}") from None
    if len(raw) > MAX_REPORT_BYTES:
        raise UsageError(f"report {shown!r} is too large to be a run report")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise UsageError(f"report {shown!r} is not a reconciler apply report") from None
    try:
        return RunReport.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise UsageError(
            f"report {shown!r} is not a reconciler apply report ({where}: {first['msg']})"
        ) from None


@dataclass(frozen=True)
class StoredRun:
    path: Path
    report: RunReport


def stored_runs(root: Path, environment: str | None = None) -> list[StoredRun]:
    """The kept runs, oldest first (of one environment, or of all); a file that is no report
    is left out."""
    base = root / ".reconciler" / "history"
    directories = [history_dir(root, environment)] if environment else sorted(base.glob("*"))
    runs = []
    for directory in directories:
        for path in sorted(directory.glob("*.json")):
            try:
                runs.append(StoredRun(path, read_report(path)))
            except UsageError:
                continue
    if environment:  # two names of one safe spelling share a directory
        runs = [run for run in runs if run.report.environment == environment]
    return sorted(runs, key=lambda run: (run.report.startedAt, str(run.path)))
