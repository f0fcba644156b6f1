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
