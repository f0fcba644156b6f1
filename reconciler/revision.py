"""The repository at a git ref, read with git itself (issue 18): no checkout, no network.

``find_revision`` turns ``REF`` into a commit of the repository around a directory, or raises
``GitError`` with one line naming the fix (no git program, not a git repository, an unknown ref,
a ref missing from a shallow clone). ``write_tree`` copies that commit's files into a scratch
directory (``git ls-tree`` lists them, one ``git cat-file --batch`` reads them all), so the
manifest loader reads the base exactly as it reads the working tree: same interpolation, same
template-file rules, same YAML anchors.

Files larger than the manifest limit are not read: they are written as sparse files of their
size, so loading reports them as too large, as it would in the working tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import GitError
from reconciler.manifests.templates import GIT_TIMEOUT_SECONDS
from reconciler.manifests.yamlstrict import MAX_FILE_BYTES

CHECKOUT_HINT = "in GitHub Actions, actions/checkout with fetch-depth: 0"
_LOCATING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")
_FILE_MODES = {"100644", "100755"}
_LINK_MODE = "120000"


@dataclass(frozen=True)
class Revision:
    """``ref`` as given, the commit it names, and the work tree's top directory."""

    ref: str
    commit: str
    toplevel: Path

    @property
    def short(self) -> str:
        return self.commit[:12]


def find_revision(directory: Path, ref: str) -> Revision:
    """The commit ``ref`` names in the repository around ``directory``; GitError otherwise."""
    if not ref or ref.startswith("-") or any(ch in ref for ch in "\0\n\r"):
        raise GitError(f"{ref!r} is not a git ref (a branch, tag or commit)")
    found = _git(directory, "rev-parse", "--show-toplevel", check=False)
    if found.returncode != 0:
        if "not a git repository" in found.stderr:
            raise GitError(
                f"--changed-since/--base {ref}: {directory} is not in a git repository; run in a "
                f"clone of the manifests repository ({CHECKOUT_HINT})"
            )
        owned = re.search(r"dubious ownership in repository at '([^'\n]*)'", found.stderr)
        if owned:
            raise GitError(
                f"git refuses the repository at {owned[1]}: it belongs to another user; if it "
                f"is yours, mark it safe (git config --global --add safe.directory {owned[1]})"
            )
        raise GitError(f"git cannot read the repository at {directory}: {_first(found.stderr)}")
    toplevel = Path(found.stdout.strip())
    named = _git(toplevel, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if named.returncode == 0:
        return Revision(ref, named.stdout.strip(), toplevel)
    shallow = _git(toplevel, "rev-parse", "--is-shallow-repository", check=False)
    if shallow.stdout.strip() == "true":
        raise GitError(
            f"git ref {ref!r} is not in this shallow clone; fetch the history "
            f"({CHECKOUT_HINT}, or git fetch --unshallow)"
        )
    raise GitError(
        f"unknown git ref {ref!r}: no branch, tag or commit of that name in {toplevel}; "
        f"fetch it first (git fetch origin {ref}; {CHECKOUT_HINT})"
    )


def write_tree(revision: Revision, into: Path, under: Sequence[str] = ()) -> None:
    """Every file of ``revision`` under ``into`` (links as links, submodules left out); with
    ``under`` (paths from the top of the repository), only the files below those paths: the
    rest of a large repository is neither read nor copied (in a partial clone its blobs may
    not even be there).

    Files first, links last, and nothing is written over what exists: a commit whose tree
    holds two entries of one name (``git mktree`` makes them; a case-insensitive file system
    makes them of ``A`` and ``a``) can never have a file written through a link, out of
    ``into``. Such a commit is one ``GitError``.
    """
    listing = _git(
        revision.toplevel, "ls-tree", "-r", "-z", "-l", "--full-tree", revision.commit, "--", *under
    )
    files: list[tuple[str, Path, int]] = []  # (blob, where, size)
    links: list[tuple[str, Path]] = []
    for entry in listing.stdout.split("\0"):
        if not entry:
            continue
        meta, _, name = entry.partition("\t")
        mode, kind, sha, size = meta.split()
        if kind != "blob" or ".." in Path(name).parts or mode not in {*_FILE_MODES, _LINK_MODE}:
            continue
        if mode == _LINK_MODE:
            links.append((sha, into / name))
        else:
            files.append((sha, into / name, int(size)))
    small = [sha for sha, _, length in files if length <= MAX_FILE_BYTES]
    contents = _read_blobs(revision.toplevel, [*small, *(sha for sha, _ in links)])
    top = Path(os.path.realpath(into))
    for sha, path, length in files:
        _make_parent(path, into, top, revision)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW)
        except OSError:
            raise _conflicting(path, into, revision) from None
        with open(descriptor, "wb") as out:
            if length > MAX_FILE_BYTES:
                out.truncate(length)  # a sparse file of the blob's size, unread
            else:
                out.write(contents[sha])
    for sha, path in links:
        _make_parent(path, into, top, revision)
        try:
            os.symlink(os.fsdecode(contents[sha]), path)
        except OSError:
            raise _conflicting(path, into, revision) from None


def _make_parent(path: Path, into: Path, top: Path, revision: Revision) -> None:
    """``path``'s directory, made of real directories inside ``into`` only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise _conflicting(path, into, revision) from None
    if Path(os.path.realpath(path.parent)) != top / path.parent.relative_to(into):
        raise _conflicting(path, into, revision)


def _conflicting(path: Path, into: Path, revision: Revision) -> GitError:
    name = path.relative_to(into).as_posix()
    return GitError(
        f"the files of git ref {revision.ref!r} ({revision.short}) cannot be copied: two "
        f"entries are named {name!r} (or names this file system takes for one)"
    )


def _read_blobs(toplevel: Path, shas: list[str]) -> dict[str, bytes]:
    """The contents of ``shas``, read by one ``git cat-file --batch``."""
    unique = list(dict.fromkeys(shas))
    if not unique:
        return {}
    done = _run(toplevel, ["cat-file", "--batch"], "".join(f"{s}\n" for s in unique).encode())
    out, position, found = done.stdout, 0, {}
    for sha in unique:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        if len(header) != 3:
            raise GitError(f"git could not read blob {sha} of the base")
        size = int(header[2])
        found[sha] = out[end + 1 : end + 1 + size]
        position = end + 1 + size + 1
    return found


def _git(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = _run(directory, list(args), None, check=check)
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "surrogateescape"),
        done.stderr.decode("utf-8", "replace"),
    )


def _run(
    directory: Path, args: list[str], stdin: bytes | None, *, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise GitError("--changed-since and --base need the git program, and it is not installed")
    environment = {k: v for k, v in os.environ.items() if k not in _LOCATING}
    # Never the network: a partial clone must not fetch a missing object on its own.
    environment.update(
        LC_ALL="C",
        GIT_OPTIONAL_LOCKS="0",
        GIT_TERMINAL_PROMPT="0",
        GIT_NO_LAZY_FETCH="1",
        GIT_LITERAL_PATHSPECS="1",  # a path is a path: no glob or magic in a directory's name
    )
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [git, "-C", str(directory), *args],
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git did not answer in {GIT_TIMEOUT_SECONDS:g} s") from None
    except OSError as exc:
        raise GitError(f"git could not run: {exc.strerror}") from None
    if check and done.returncode != 0:
        message = _first(done.stderr.decode("utf-8", "replace"))
        raise GitError(f"git {args[0]} failed: {message}")
    return done


def _first(stderr: str) -> str:
    """git's message: its first error line, else its first line (warnings and hints come
    before the error they explain)."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal: ", "error: "))]
    first = (errors or lines or ["no message"])[0]
    return first.removeprefix("fatal: ").removeprefix("error: ")
