"""``reconciler preview``: the page written to DIR/index.html, the one line it prints, sample
profiles by name and by file, and bad input as one error line with nothing written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.cli import Run
from tests.support.gitrepo import commit, init
from tests.support.preview import cards


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.copy2(ROOT / "reconciler.yaml", tmp_path / "reconciler.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_preview_writes_the_page_and_prints_what_it_holds(demo: Path, cli: Run) -> None:
    code, out, err = cli("preview", "--out", "site/preview")
    assert code == 0, err
    assert (
        out == "15 communications in 5 targets; SMS: 4 messages, 4 segments (largest 1, 0 UCS-2)\n"
    )
    assert err == "wrote site/preview/index.html\n"
    page = (demo / "site" / "preview" / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert len(cards(page)) == 15
    assert "sample <b>worst-case</b>" in page
    assert "Maximiliana-Alexandra" in page


def test_paths_select_manifests(demo: Path, cli: Run) -> None:
    code, out, _ = cli("preview", "manifests/summer-streak.yaml", "--out", "p")
    assert code == 0
    assert out.startswith("6 communications in 2 targets;")


def test_profiles_from_the_configuration_and_from_a_file(demo: Path, cli: Run) -> None:
    config = demo / "reconciler.yaml"
    config.write_text(
        config.read_text().replace(
            "    endpoint: sandbox ",
            "    samples: {typical: {first_name: Ana}, empty: {}}\n    endpoint: sandbox ",
            1,
        )
    )
    assert cli("preview", "--out", "a")[0] == 0
    page = (demo / "a" / "index.html").read_text(encoding="utf-8")
    assert "sample <b>typical</b>" in page
    assert "Hi Ana" in page
    assert '<mark class="unknown" title="no sample value">{{target_value}}</mark>' in page
    assert cli("preview", "--sample", "empty", "--out", "b")[0] == 0
    empty = (demo / "b" / "index.html").read_text(encoding="utf-8")
    assert 'title="no sample value">{{first_name}}</mark>' in empty  # marked, never empty
    (demo / "values.yaml").write_text("first_name: Zoë\n", encoding="utf-8")
    assert cli("preview", "--sample", "values.yaml", "--out", "c")[0] == 0
    assert "Zoë" in (demo / "c" / "index.html").read_text(encoding="utf-8")


def test_an_unknown_sample_is_one_error_and_writes_nothing(demo: Path, cli: Run) -> None:
    code, out, err = cli("preview", "--sample", "nope", "--out", "p")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: --sample 'nope' is neither a sample profile (worst-case)")
    assert not (demo / "p").exists()


def test_invalid_manifests_fail_with_their_positions_and_write_nothing(
    demo: Path, cli: Run
) -> None:
    shutil.copy2(
        ROOT / "tests" / "data" / "manifests" / "bad-unquoted-number.yaml", demo / "manifests"
    )
    code, _, err = cli("preview", "--out", "p")
    assert code == 1
    assert "error: manifests/bad-unquoted-number.yaml:" in err
    assert not (demo / "p").exists()


def test_an_out_that_is_a_file_is_one_error(demo: Path, cli: Run) -> None:
    (demo / "p").write_text("x")
    code, _, err = cli("preview", "--out", "p")
    assert code == 1
    assert err.startswith("error: --out 'p' cannot be written:")
    assert err.count("\n") == 1


def test_a_symlink_at_the_page_is_replaced_never_written_through(demo: Path, cli: Run) -> None:
    """A checkout can hold ``DIR/index.html`` as a symlink: the page replaces the link and
    writes nothing where it points, even where it points at nothing yet."""
    (demo / "p").mkdir()
    outside = demo / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    (demo / "p" / "index.html").symlink_to(outside)
    (demo / "q").mkdir()
    (demo / "q" / "index.html").symlink_to(demo / "created-outside.html")
    for out in ("p", "q"):
        code, _, err = cli("preview", "--out", out)
        assert code == 0, err
        page = demo / out / "index.html"
        assert not page.is_symlink()
        assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert outside.read_text(encoding="utf-8") == "keep"
    assert not (demo / "created-outside.html").exists()
    assert sorted(p.name for p in (demo / "p").iterdir()) == ["index.html"]  # no temporary left


def test_out_is_required(demo: Path, cli: Run) -> None:
    code, _, err = cli("preview")
    assert code == 1
    assert "--out" in err


def test_changed_since_shows_exactly_the_changed_communications_before_and_after(
    demo: Path, cli: Run
) -> None:
    init(demo)
    base = commit(demo, "base")
    path = demo / "manifests" / "summer-streak.yaml"
    old = "earn double points all autumn."
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, "earn triple points all autumn.", 1), encoding="utf-8")
    (demo / "manifests" / "spring-sprint.yaml").unlink()
    code, _out, err = cli("preview", "--changed-since", base, "--out", "p")
    assert code == 0, err
    page = (demo / "p" / "index.html").read_text(encoding="utf-8")
    found = cards(page)
    # The one changed communication before and after; the deleted document's communications
    # as removed; the changed document's other communications collapsed; nothing else.
    before = [c for c in found if c.attrs["data-side"] == "before"]
    after = [c for c in found if c.attrs["data-side"] == "after"]
    assert [c.attrs["data-type"] for c in before] == ["START"]
    assert [c.attrs["data-type"] for c in after] == ["START"]
    assert {c.attrs["data-side"] for c in found} == {"before", "after", "current", "removed"}
    targets = set(re.findall(r'<section class="target" data-target="([^"]+)"', page))
    assert "summer-streak-brunch-club" not in targets
    assert "summer-streak-weekly-shopper" in targets
    assert {"spring-sprint-spend-500", "spring-sprint-store-visits"} <= targets


def test_changed_since_an_unknown_ref_is_one_error_line(demo: Path, cli: Run) -> None:
    init(demo)
    commit(demo, "base")
    code, _, err = cli("preview", "--changed-since", "no-such-ref", "--out", "p")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error:")
    assert not (demo / "p").exists()
