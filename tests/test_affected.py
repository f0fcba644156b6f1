"""Which documents a change since a git ref affects (issue 18): decided per document after
interpolation and after following messageTemplateFile, offline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reconciler.affected import changed_since, identity
from reconciler.config import select
from tests.support.gitrepo import commit, git, init

CONFIG = """\
manifests: manifests/
defaultEnvironment: dev
environments:
  dev:
    endpoint: sandbox
    vars: {{sender: a@x.example, promo: {promo}}}
{extra}"""

DOC = """\
apiVersion: reconciler/v1
kind: TargetCommunications
metadata: {{name: {name}}}
target: {{targetGroup: 1, target: {target}}}
communications:
  - communicationType: START
    channel: EMAIL
    sender: ${{sender}}
    {message}
"""


def write(repo: Path, promo: str = "x", extra: str = "") -> None:
    (repo / "reconciler.yaml").write_text(CONFIG.format(promo=promo, extra=extra))


def doc(name: str, target: int, message: str) -> str:
    return DOC.format(name=name, target=target, message=message)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    (path / "manifests").mkdir(parents=True)
    (path / "templates").mkdir()
    (path / "templates" / "shared.html").write_text("<p>shared</p>\n")
    write(path)
    manifests = path / "manifests"
    (manifests / "a.yaml").write_text(
        doc("one", 1, "messageTemplateFile: ../templates/shared.html")
        + "---\n"
        + doc("two", 2, "messageTemplateFile: ../templates/shared.html")
        + "---\n"
        + doc("three", 3, 'messageTemplate: "Promo: ${promo}"')
        + "---\n"
        + doc("four", 4, 'messageTemplate: "plain"')
    )
    monkeypatch.chdir(path)
    init(path)
    return path


def changed(repo: Path, ref: str) -> set[str]:
    diff = changed_since(select(), [], ref)
    return {diff.base[i].model.metadata.name if i in diff.base else i[1] for i in diff.changed}


def test_nothing_changed_is_nothing_to_plan(repo: Path) -> None:
    base = commit(repo)
    diff = changed_since(select(), [], base)
    assert diff.changed == frozenset()
    assert diff.released == ()
    assert diff.full is None
    assert diff.documents == 4
    assert {d.model.metadata.name for d in diff.base.values()} == {"one", "two", "three", "four"}


def test_a_template_file_marks_exactly_the_documents_that_use_it(repo: Path) -> None:
    base = commit(repo)
    (repo / "templates" / "shared.html").write_text("<p>changed</p>\n")
    assert changed(repo, base) == {"one", "two"}


def test_a_vars_value_marks_exactly_the_documents_that_use_it_and_is_no_full_plan(
    repo: Path,
) -> None:
    base = commit(repo)
    write(repo, promo="y")
    diff = changed_since(select(), [], base)
    assert diff.full is None
    assert changed(repo, base) == {"three"}


def test_an_anchor_marks_the_documents_that_merge_it(repo: Path) -> None:
    (repo / "manifests" / "b.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: TargetCommunications\nmetadata: {name: five}\n"
        "target: {targetGroup: 1, target: 5}\ncommunications:\n"
        "  - &start {communicationType: START, channel: EMAIL, sender: a@x.example, "
        "messageTemplate: hi, offsetDays: 1}\n"
        "  - {<<: *start, communicationType: FINISH}\n"
    )
    base = commit(repo)
    path = repo / "manifests" / "b.yaml"
    path.write_text(path.read_text().replace("offsetDays: 1", "offsetDays: 2"))
    assert changed(repo, base) == {"five"}


def test_names_labels_order_and_comments_are_not_desired_state(repo: Path) -> None:
    base = commit(repo)
    path = repo / "manifests" / "a.yaml"
    text = path.read_text().replace(
        "metadata: {name: four}", "metadata: {name: four, labels: {a: b}}"
    )
    path.write_text("# a comment\n" + text)
    assert changed(repo, base) == set()


def test_a_config_change_outside_vars_is_a_full_plan_naming_what_changed(repo: Path) -> None:
    base = commit(repo)
    write(repo, extra="    maxDeactivatePercent: 50\n")
    diff = changed_since(select(), [], base)
    assert diff.full == (
        f"reconciler.yaml changed since {base} outside vars (environments.dev.maxDeactivatePercent)"
    )
    assert all(diff.is_changed(d) for d in diff.base.values())


def test_deleted_and_moved_documents_are_released_and_new(repo: Path) -> None:
    base = commit(repo)
    path = repo / "manifests" / "a.yaml"
    documents = path.read_text().split("---\n")
    documents[3] = documents[3].replace("target: 4}", "target: 40}")
    path.write_text("---\n".join(documents[1:]))  # "one" deleted, "four" moved
    diff = changed_since(select(), [], base)
    assert sorted(d.model.metadata.name for d in diff.released) == ["four", "one"]
    assert all(d.path == "manifests/a.yaml" for d in diff.released)
    assert diff.changed == {("1", "40")}
    assert identity(diff.released[0]) in diff.base


def test_a_new_manifest_directory_has_no_base_documents(repo: Path) -> None:
    base = commit(repo)
    (repo / "more").mkdir()
    (repo / "more" / "c.yaml").write_text(doc("six", 6, "messageTemplate: hi"))
    diff = changed_since(select(), ["manifests", "more"], base)
    assert diff.changed == {("1", "6")}


def test_in_a_monorepo_only_the_configurations_directory_is_read_at_the_base(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partial clone of a monorepo lacks the base's large blobs elsewhere; the base is read
    all the same, as nothing outside the configuration's directory is read."""
    mono = tmp_path / "mono"
    (mono / "app").mkdir(parents=True)
    repo.rename(mono / "loyalty")
    shutil.rmtree(mono / "loyalty" / ".git")
    (mono / "app" / "asset.bin").write_bytes(os.urandom(300_000))
    init(mono)
    git(mono, "config", "uploadpack.allowFilter", "true")
    base = commit(mono, "base")
    (mono / "app" / "asset.bin").unlink()
    commit(mono, "head")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--filter=blob:limit=100k", f"file://{mono}", str(clone))
    monkeypatch.chdir(clone / "loyalty")
    (clone / "loyalty" / "templates" / "shared.html").write_text("<p>new</p>\n")
    assert changed(clone / "loyalty", base) == {"one", "two"}
