"""Message template files: a ``messageTemplateFile`` must be a text file of the repository.

A pull request must not be able to make the reconciler quote (in the PR comment) or send (on
apply) a file that is not a template of the repository (issue 14 item 3). So a template file is
refused when it is, after every link is resolved:

- outside the repository root (the directory of ``reconciler.yaml``), directly or through a
  link (``leads_outside``, the same rule manifest discovery uses);
- inside a git directory: any path component named ``.git`` (in any case, and in the forms
  Windows and macOS file systems treat as ``.git``), as written or once resolved, or any
  directory that is a git directory under another name (``HEAD`` plus ``objects`` or
  ``commondir``: a bare clone, ``--separate-git-dir``);
- ignored by git: ``git check-ignore`` run once per work tree on every template file, after
  all manifests are read. A tracked file is not ignored, whatever the patterns say. With no
  ``git`` program, or outside a git work tree, there is no ignore check (the other rules still
  hold); any other git failure is an error, never a silent pass;
- not a regular file (a named pipe, a device, a socket, a directory), which is never opened
  (and files are opened non-blocking, so one swapped for a pipe cannot hang the run);
- larger than 1 MiB (the manifest limit), or not UTF-8 text (a NUL byte or another control
  character YAML forbids in a stream is not text).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.diagnostics import Diagnostic
from reconciler.manifests.yamlstrict import MAX_FILE_BYTES, YamlProblem, decode

MAX_TEMPLATE_BYTES = MAX_FILE_BYTES  # 1 MiB, as for manifests
GIT_TIMEOUT_SECONDS = 60.0

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
# Code points HFS+ ignores in file names (git's is_hfs_dotgit, U+206A-206F too): ".g\u200cit" is ".git" there.
_HFS_IGNORED = dict.fromkeys(
    [
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x202A,
        0x202B,
        0x202C,
        0x202D,
        0x202E,
        0xFEFF,
        *range(0x206A, 0x2070),
    ]
)
_LOCATING = frozenset({"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"})
_IN_GIT_DIR = "is inside a git directory; a template must be a file of the repository"


class TemplateProblem(Exception):
    """Why a file cannot be a template; the message follows ``messageTemplateFile 'name'``."""


def leads_outside(path: Path, *roots: Path) -> bool:
    """Whether ``path``, with every link resolved, lies outside all of ``roots`` (resolved).

    The one rule for "a link out of the repository", for manifests and template files alike.
    Raises OSError or RuntimeError (Python 3.11's symlink loop) when it cannot be resolved.
    """
    real = path.resolve()
    return not any(real.is_relative_to(root) for root in roots)


def is_git_name(part: str) -> bool:
    """A path component that some file system takes for ``.git``: any case; NTFS drops
    trailing dots and spaces, reads ``.git::$INDEX_ALLOCATION`` (a stream) and has the 8.3
    name ``GIT~1``; HFS+ ignores some zero-width characters."""
    name = part.translate(_HFS_IGNORED).split(":", 1)[0].rstrip(" .").casefold()
    return name in (".git", "git~1")


def read_text_file(path: Path, limit: int = MAX_TEMPLATE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (a BOM is dropped).

    Never opens anything but a regular file, and opens that non-blocking, so a named pipe or
    a device can neither hang the run nor be read. Raises TemplateProblem with the reason.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise TemplateProblem("does not exist") from None
    except OSError as exc:
        raise TemplateProblem(f"cannot be read: {exc.strerror}") from None
    _check_regular(info.st_mode, info.st_size, limit)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise TemplateProblem(f"cannot be read: {exc.strerror}") from None
    try:
        opened = os.fstat(fd)
        _check_regular(opened.st_mode, opened.st_size, limit)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise TemplateProblem("changed while it was read")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except BlockingIOError:  # pragma: no cover - regular files do not block
        raise TemplateProblem("cannot be read without waiting") from None
    except OSError as exc:
        raise TemplateProblem(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise TemplateProblem(_too_large(len(data), limit, grew=True))
    try:
        return decode(data)
    except YamlProblem as exc:
        raise TemplateProblem(_not_text(exc)) from None


def _check_regular(mode: int, size: int, limit: int) -> None:
    if stat.S_ISDIR(mode):
        raise TemplateProblem("is a directory")
    if not stat.S_ISREG(mode):
        raise TemplateProblem(f"is not a regular file ({_kind(mode)})")
    if size > limit:
        raise TemplateProblem(_too_large(size, limit))


def _too_large(size: int, limit: int, *, grew: bool = False) -> str:
    what = f"grew past {limit:,} bytes while it was read" if grew else f"is {size:,} bytes"
    return f"{what}; template files are limited to 1 MiB"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _not_text(problem: YamlProblem) -> str:
    where = f"at line {problem.line}, column {problem.col}"
    if "UTF-8" in problem.message:
        return f"is not a text file: not valid UTF-8 {where}"
    what = problem.message.removeprefix("file contains ").split(";")[0]
    return f"is not a text file: it contains {what} {where}"


@dataclass
class _Use:
    """Where a manifest names a template file, for a problem found after loading."""

    path: str
    line: int
    column: int
    name: str


@dataclass
class TemplateFiles:
    """Reads the template files of one run under ``root``; ``finish`` runs git's ignore check
    once per work tree over every file read and returns the problems it found."""

    root: Path
    _texts: dict[Path, tuple[str, str]] = field(default_factory=dict)  # (text, problem)
    _git_dirs: dict[Path, bool] = field(default_factory=dict)
    _work_trees: dict[Path, Path] = field(default_factory=dict)
    _pending: dict[Path, dict[Path, list[_Use]]] = field(default_factory=dict)

    def read(self, name: str, manifest: Path, where: tuple[str, int, int]) -> str:
        """The content of ``name`` (relative to ``manifest``'s directory); raises
        TemplateProblem. ``where`` (manifest, line, column) is kept for the ignore check."""
        if "\0" in name:
            raise TemplateProblem("is not a file name: it contains a NUL character")
        if any(is_git_name(part) for part in Path(name).parts):
            raise TemplateProblem(_IN_GIT_DIR)
        given = manifest.parent / name
        try:
            real = given.resolve()
        except RuntimeError:  # Python 3.11: "Symlink loop from ..."
            raise TemplateProblem("cannot be resolved: it is a symbolic link loop") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # from Python 3.13 on
                raise TemplateProblem("cannot be resolved: it is a symbolic link loop") from None
            raise TemplateProblem(f"cannot be resolved: {exc.strerror}") from None
        if leads_outside(real, self.root):
            if Path(os.path.abspath(given)).is_relative_to(self.root):
                raise TemplateProblem(
                    "is a link to a file outside the repository; templates are read only "
                    "from inside it"
                )
            raise TemplateProblem("is outside the repository")
        inside = real.relative_to(self.root)
        if any(is_git_name(part) for part in inside.parts) or self._in_git_dir(real):
            raise TemplateProblem(_IN_GIT_DIR)
        known = self._texts.get(real)
        if known is None:
            try:
                known = (read_text_file(real), "")
            except TemplateProblem as problem:
                known = ("", str(problem))
            self._texts[real] = known
        text, reason = known
        if reason:
            raise TemplateProblem(reason)
        uses = self._pending.setdefault(self._work_tree(real.parent), {})
        uses.setdefault(real, []).append(_Use(*where, name))
        return text

    def finish(self) -> list[Diagnostic]:
        """Every template file git ignores (or cannot tell about), as problems at the
        ``messageTemplateFile`` values that name it."""
        self._texts.clear()  # every manifest is read: the documents hold what they use
        problems: list[Diagnostic] = []
        pending = self._pending
        while pending:
            tree, uses = min(pending.items())
            del pending[tree]
            found = _ignored(tree, sorted(uses))
            if found is None:  # not a work tree after all: the one around it answers
                if tree != self.root:
                    outer = pending.setdefault(self._work_tree(tree.parent), {})
                    for real, more in uses.items():
                        outer.setdefault(real, []).extend(more)
                continue
            for real, reason in found.items():
                problems.extend(
                    Diagnostic(u.path, u.line, u.column, f"messageTemplateFile '{u.name}' {reason}")
                    for u in uses[real]
                )
        return problems

    def _in_git_dir(self, real: Path) -> bool:
        """Whether any directory between ``real`` and the root is a git directory, whatever
        its name (git's own test: ``HEAD`` and ``objects`` or, for a worktree, ``commondir``)."""
        for directory in _below(real.parent, self.root):
            known = self._git_dirs.get(directory)
            if known is None:
                known = (directory / "HEAD").is_file() and (
                    (directory / "objects").is_dir() or (directory / "commondir").is_file()
                )
                self._git_dirs[directory] = known
            if known:
                return True
        return False

    def _work_tree(self, directory: Path) -> Path:
        """The nearest directory from ``directory`` up to the root holding a ``.git`` entry
        (a nested checkout or submodule answers for its own files), else the root."""
        found = self._work_trees.get(directory)
        if found is None:
            if directory == self.root or not directory.is_relative_to(self.root):
                found = self.root
            elif os.path.lexists(directory / ".git"):
                found = directory
            else:
                found = self._work_tree(directory.parent)
            self._work_trees[directory] = found
        return found


def _below(path: Path, root: Path) -> Iterable[Path]:
    """``path`` and its parents that lie below ``root`` (the root itself is the checkout)."""
    for directory in (path, *path.parents):
        if directory == root or not directory.is_relative_to(root):
            return
        yield directory


def _ignored(tree: Path, files: list[Path]) -> dict[Path, str] | None:
    """Which of ``files`` git ignores in the work tree at ``tree``, with the reason; every
    file when git fails for another reason than there being no git program ({}) or no
    repository at ``tree`` (None)."""
    git = shutil.which("git")
    if git is None:
        return {}  # no git program: no ignore check (documented)
    stdin = b"".join(os.fsencode(f) + b"\0" for f in files)
    # git must find the repository from ``tree`` itself: a GIT_DIR left by a hook would point
    # every nested work tree at the outer one.
    environment = {k: v for k, v in os.environ.items() if k not in _LOCATING}
    environment.update(LC_ALL="C", GIT_OPTIONAL_LOCKS="0")
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell; paths go on stdin
            [git, "-C", str(tree), "check-ignore", "-z", "-v", "--stdin"],
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return dict.fromkeys(files, _unchecked(f"git did not answer in {GIT_TIMEOUT_SECONDS:g} s"))
    except OSError as exc:
        return dict.fromkeys(files, _unchecked(f"git could not run: {exc.strerror}"))
    if done.returncode not in (0, 1):
        message = done.stderr.decode("utf-8", "replace").strip()
        if "not a git repository" in message:
            return None
        first = message.splitlines()[0] if message else f"exit status {done.returncode}"
        return dict.fromkeys(files, _unchecked(first.removeprefix("fatal: ")))
    fields = done.stdout.split(b"\0")
    found: dict[Path, str] = {}
    for i in range(0, len(fields) - 3, 4):
        source, line, pattern, path = (os.fsdecode(f) for f in fields[i : i + 4])
        if pattern.startswith("!"):
            continue  # a negated pattern matched: the path is not ignored
        found[Path(path)] = (
            f"is ignored by git ({source}:{line}: {pattern}); a template must be a file of "
            "the repository"
        )
    return found


def _unchecked(reason: str) -> str:
    return f"cannot be checked against git's ignore rules: {reason}"
