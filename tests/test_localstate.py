"""The .reconciler state files: written whole through a fresh temporary name, never through a
link planted beside them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.localstate import write_atomically


def test_a_write_replaces_the_file_whole_and_leaves_no_scratch(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history.json"
    write_atomically(path, '{"a": 1}')
    write_atomically(path, '{"a": 2}')
    assert path.read_text(encoding="utf-8") == '{"a": 2}\n'
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.json"]


@pytest.mark.parametrize("name", [".history.json.tmp", "history.json"])
def test_a_planted_link_is_never_written_through(tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n", encoding="utf-8")
    state = tmp_path / "state"
    state.mkdir()
    os.symlink(outside, state / name)
    write_atomically(state / "history.json", "{}")
    assert outside.read_text(encoding="utf-8") == "keep me\n"
    assert (state / "history.json").read_text(encoding="utf-8") == "{}\n"
    assert not (state / "history.json").is_symlink()
