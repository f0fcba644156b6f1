"""Writing the scaffold: a file that does not exist is created; one that exists is never
overwritten, except, with ``force``, a generated file (workflows, hook, schema) that differs
from what this version writes. Files the user owns (configuration, manifests, README,
.gitignore) are never replaced, with or without ``force``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import OutputError
from reconciler.scaffold.layout import ScaffoldFile

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


@dataclass
class Outcome:
    """What ``write`` did with each file, by its relative path."""

    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already exactly what init writes
    skipped: list[str] = field(default_factory=list)  # exists with other content; left alone
    forceable: list[str] = field(default_factory=list)  # the skipped ones --force would replace


def write(root: Path, files: list[ScaffoldFile], *, force: bool = False) -> Outcome:
    """Create ``files`` under ``root``; raise ``OutputError`` (with nothing more written) when
    a path cannot be created, e.g. a directory stands where a file would go, or a folder on
    the way is a symbolic link out of ``root``. A symbolic link where a file goes (dangling or
    not) is the user's: never written through or replaced, with or without ``force``."""
    outcome = Outcome()
    pending: list[tuple[ScaffoldFile, Path]] = []
    if (root.exists() or root.is_symlink()) and not root.is_dir():
        raise OutputError(f"cannot create the repository: {root} is not a directory")
    for file in files:
        target = root.joinpath(*file.path.split("/"))
        link = _bad_link(root, target)
        if link is not None:
            raise OutputError(f"cannot create {target}: {link}")
        if (target.is_dir() and not target.is_symlink()) or _blocked(root, target):
            raise OutputError(f"cannot create {target}: a directory or file is in the way")
        if not target.is_symlink() and not target.exists():
            pending.append((file, target))
            continue
        if _read(target) == file.text:
            outcome.unchanged.append(file.path)
        elif force and file.generated and not target.is_symlink():
            pending.append((file, target))
        else:
            outcome.skipped.append(file.path)
            if file.generated and not target.is_symlink():
                outcome.forceable.append(file.path)
    for file, target in pending:
        existed = target.exists()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.init-{os.getpid()}")
            # O_EXCL and O_NOFOLLOW: never through a link planted at the temporary name
            with os.fdopen(os.open(temporary, _NEW_FILE, 0o666), "w", encoding="utf-8") as out:
                out.write(file.text)
            temporary.replace(target)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
        (outcome.replaced if existed else outcome.created).append(file.path)
    return outcome


def _bad_link(root: Path, target: Path) -> str | None:
    """Why a folder between ``root`` and ``target`` that is a symbolic link cannot be written
    through (it leads out of ``root``, or to no folder), or None."""
    inside = root.resolve()
    for parent in reversed(target.parents):
        if root not in parent.parents or not parent.is_symlink():
            continue
        if not parent.resolve().is_relative_to(inside):
            return f"{parent} is a symbolic link to a place outside {root}"
        if not parent.is_dir():
            return f"{parent} is a symbolic link to no folder"
    return None


def _blocked(root: Path, target: Path) -> bool:
    """A parent of ``target`` below ``root`` exists and is not a directory."""
    for parent in target.parents:
        if parent == root:
            return False
        if parent.exists() and not parent.is_dir():
            return True
    return False


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
