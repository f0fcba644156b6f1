"""Reading the repository at a git ref with git itself (issue 18, acceptance 4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.errors import GitError
from reconciler.manifests.yamlstrict import MAX_FILE_BYTES
from reconciler.revision import find_revision, write_tree
from tests.support.gitrepo import commit, git, init, shallow_clone


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    (path / "manifests" / "deep").mkdir(parents=True)
    init(path)
    return path


def test_the_tree_at_a_ref_is_written_as_it_was_not_as_it_is(repo: Path, tmp_path: Path) -> None:
    (repo / "manifests" / "a.yaml").write_text("old\n")
    (repo / "manifests" / "deep" / "t.html").write_text("<p>old</p>\n")
    os.symlink("a.yaml", repo / "manifests" / "link.yaml")
    (repo / "big.bin").write_bytes(b"x" * (MAX_FILE_BYTES + 5))
    base = commit(repo, "base")
    (repo / "manifests" / "a.yaml").write_text("new\n")
    (repo / "manifests" / "b.yaml").write_text("added\n")
    commit(repo, "head")
    into = tmp_path / "out"
    write_tree(find_revision(repo / "manifests", base), into)
    assert (into / "manifests" / "a.yaml").read_text() == "old\n"
    assert (into / "manifests" / "deep" / "t.html").read_text() == "<p>old</p>\n"
    assert not (into / "manifests" / "b.yaml").exists()
    assert os.readlink(into / "manifests" / "link.yaml") == "a.yaml"
    # A file over the manifest limit is not read, only sized: loading calls it too large.
    assert (into / "big.bin").stat().st_size == MAX_FILE_BYTES + 5
    assert (repo / "manifests" / "a.yaml").read_text() == "new\n"  # no checkout
    assert git(repo, "status", "--porcelain") == ""


def test_a_ref_names_a_branch_a_tag_or_a_commit(repo: Path) -> None:
    first = commit(repo, "one")
    git(repo, "tag", "v1")
    second = commit(repo, "two")
    assert find_revision(repo, "v1").commit == first
    assert find_revision(repo, "main").commit == second
    assert find_revision(repo, "HEAD~1").commit == first
    assert find_revision(repo, first[:10]).commit == first


def test_an_unknown_ref_names_the_fetch(repo: Path) -> None:
    commit(repo)
    with pytest.raises(GitError) as caught:
        find_revision(repo, "origin/main")
    message = caught.value.message
    assert message.startswith("unknown git ref 'origin/main'")
    assert "git fetch origin origin/main" in message
    assert "actions/checkout with fetch-depth: 0" in message


def test_a_ref_missing_from_a_shallow_clone_says_to_fetch_the_history(
    repo: Path, tmp_path: Path
) -> None:
    first = commit(repo, "one")
    commit(repo, "two")
    clone = tmp_path / "clone"
    shallow_clone(repo, clone)
    with pytest.raises(GitError) as caught:
        find_revision(clone, first)
    assert "is not in this shallow clone" in caught.value.message
    assert "actions/checkout with fetch-depth: 0" in caught.value.message


def test_outside_a_repository_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        find_revision(tmp_path, "main")
    assert "is not in a git repository" in caught.value.message
    assert "fetch-depth: 0" in caught.value.message


@pytest.mark.skipif(os.geteuid() != 0, reason="needs to give the repository to another user")
def test_a_repository_of_another_user_names_the_safe_directory_fix(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo)
    monkeypatch.setenv("HOME", str(repo.parent))  # no safe.directory of the machine's user
    for path in (repo, *repo.rglob("*")):
        os.lchown(path, 65534, 65534)
    with pytest.raises(GitError) as caught:
        find_revision(repo, "main")
    message = caught.value.message
    assert "belongs to another user" in message
    assert f"git config --global --add safe.directory {repo}" in message
    assert "\n" not in message


@pytest.mark.parametrize("ref", ["", "--output=/tmp/x", "a\nb"])
def test_a_ref_that_is_no_ref_is_refused_before_git_runs(repo: Path, ref: str) -> None:
    with pytest.raises(GitError, match="is not a git ref"):
        find_revision(repo, ref)


def test_without_the_git_program_the_error_says_so(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(repo))
    with pytest.raises(GitError, match="need the git program"):
        find_revision(repo, "main")


def _hostile_commit(repo: Path, entries: list[tuple[str, str, str]]) -> str:
    """A commit whose root tree has exactly ``entries`` (mode, name, content or subtree), as
    ``git mktree`` writes them: duplicate names included, which no checkout would make (and
    which a case-insensitive file system makes of ``A`` and ``a``)."""
    lines = []
    for mode, name, content in entries:
        if mode == "040000":
            lines.append(f"040000 tree {content}\t{name}")
        else:
            sha = git(repo, "hash-object", "-w", "--stdin", input=content)
            lines.append(f"{mode} blob {sha}\t{name}")
    tree = git(repo, "mktree", input="\n".join(lines) + "\n")
    return git(repo, "commit-tree", tree, "-m", "hostile")


@pytest.mark.parametrize("layout", ["file", "directory"])
def test_a_base_never_writes_through_a_link_outside_its_copy(
    repo: Path, tmp_path: Path, layout: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    if layout == "file":  # a link x -> outside/pwned, then a file x
        entries = [("120000", "x", str(outside / "pwned")), ("100644", "x", "evil\n")]
    else:  # a link d -> outside, then a directory d holding pwned
        sha = git(repo, "hash-object", "-w", "--stdin", input="evil\n")
        subtree = git(repo, "mktree", input=f"100644 blob {sha}\tpwned\n")
        entries = [("120000", "d", str(outside)), ("040000", "d", subtree)]
    ref = _hostile_commit(repo, entries)
    with pytest.raises(GitError, match="cannot be copied"):
        write_tree(find_revision(repo, ref), tmp_path / "out")
    assert list(outside.iterdir()) == []


def test_a_git_failure_shows_the_error_not_the_warning_before_it(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "manifests" / "a.yaml").write_text("old\n")
    git(repo, "config", "uploadpack.allowFilter", "true")
    base = commit(repo, "base")
    (repo / "manifests" / "a.yaml").write_text("new\n")
    commit(repo, "head")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{repo}", str(clone))
    with pytest.raises(GitError) as caught:  # the base's blob is not in this partial clone
        write_tree(find_revision(clone, base), tmp_path / "out")
    assert caught.value.message.startswith("git ls-tree failed: could not fetch ")
    assert "warning" not in caught.value.message
