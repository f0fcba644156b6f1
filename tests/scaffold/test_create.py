"""`init` never overwrites: absent files are created, identical ones left, different ones
skipped and listed; `force` replaces only generated files."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import OutputError
from reconciler.scaffold.create import write
from reconciler.scaffold.layout import ScaffoldFile

FILES = [
    ScaffoldFile("reconciler.yaml", "config\n", False),
    ScaffoldFile(".github/workflows/plan.yml", "workflow v2\n", True),
    ScaffoldFile("schema/manifest.schema.json", "{}\n", True),
]


def test_creates_what_is_missing_with_its_folders(tmp_path: Path) -> None:
    outcome = write(tmp_path / "new", FILES)
    assert outcome.created == [f.path for f in FILES]
    assert (tmp_path / "new" / ".github" / "workflows" / "plan.yml").read_text() == "workflow v2\n"


def test_never_overwrites_and_lists_what_it_skipped(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("mine\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "plan.yml").write_text("workflow v1\n")
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "manifest.schema.json").write_text("{}\n")
    outcome = write(tmp_path, FILES)
    assert outcome.created == []
    assert outcome.unchanged == ["schema/manifest.schema.json"]
    assert outcome.skipped == ["reconciler.yaml", ".github/workflows/plan.yml"]
    assert outcome.forceable == [".github/workflows/plan.yml"]
    assert (tmp_path / "reconciler.yaml").read_text() == "mine\n"
    assert (tmp_path / ".github" / "workflows" / "plan.yml").read_text() == "workflow v1\n"

    forced = write(tmp_path, FILES, force=True)
    assert forced.replaced == [".github/workflows/plan.yml"]
    assert forced.skipped == ["reconciler.yaml"]  # the user's file, even with force
    assert (tmp_path / "reconciler.yaml").read_text() == "mine\n"
    assert (tmp_path / ".github" / "workflows" / "plan.yml").read_text() == "workflow v2\n"
    assert sorted(p.name for p in (tmp_path / ".github" / "workflows").iterdir()) == ["plan.yml"]


def test_something_in_the_way_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / ".github").write_text("a file where a folder goes\n")
    with pytest.raises(OutputError, match="in the way"):
        write(tmp_path, FILES)
    assert not (tmp_path / "reconciler.yaml").exists()


# Found in review: init wrote through a symbolic link out of the new repository, and replaced
# a dangling link where a file goes.
def test_a_folder_linked_out_of_the_repository_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    (root / ".github").mkdir(parents=True)
    outside.mkdir()
    (root / ".github" / "workflows").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError, match="is a symbolic link to a place outside"):
        write(root, FILES)
    assert list(outside.iterdir()) == []
    assert not (root / "reconciler.yaml").exists()


def test_a_dangling_folder_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "schema").symlink_to(tmp_path / "nowhere", target_is_directory=True)
    with pytest.raises(OutputError, match="is a symbolic link to no folder"):
        write(tmp_path, FILES)
    assert not (tmp_path / "reconciler.yaml").exists()


def test_a_folder_linked_inside_the_repository_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / ".github").symlink_to(tmp_path / "ci", target_is_directory=True)
    assert write(tmp_path, FILES).created == [f.path for f in FILES]
    assert (tmp_path / "ci" / "workflows" / "plan.yml").read_text() == "workflow v2\n"


@pytest.mark.parametrize("force", [False, True])
def test_a_link_where_a_file_goes_is_never_replaced_or_written_through(
    tmp_path: Path, force: bool
) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("theirs\n")
    (tmp_path / "schema").mkdir()
    schema = tmp_path / "schema" / "manifest.schema.json"
    schema.symlink_to(elsewhere)
    config = tmp_path / "reconciler.yaml"
    config.symlink_to(tmp_path / "missing.yaml")  # dangling
    outcome = write(tmp_path, FILES, force=force)
    assert outcome.skipped == ["reconciler.yaml", "schema/manifest.schema.json"]
    assert outcome.forceable == []
    assert schema.is_symlink()
    assert config.is_symlink()
    assert elsewhere.read_text() == "theirs\n"
    assert not (tmp_path / "missing.yaml").exists()


def test_a_link_at_the_temporary_name_is_not_followed(tmp_path: Path) -> None:
    import os

    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (tmp_path / f".reconciler.yaml.init-{os.getpid()}").symlink_to(victim)
    with pytest.raises(OutputError, match="cannot write"):
        write(tmp_path, FILES[:1])
    assert victim.read_text() == "keep\n"


def test_a_file_given_as_the_directory_is_named_as_such(tmp_path: Path) -> None:
    # Found in review: "cannot write afile/reconciler.yaml: File exists".
    (tmp_path / "afile").write_text("x\n")
    with pytest.raises(OutputError, match=r"afile is not a directory"):
        write(tmp_path / "afile", FILES)
    assert (tmp_path / "afile").read_text() == "x\n"
