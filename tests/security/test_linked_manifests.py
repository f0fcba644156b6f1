"""A pull request cannot make reconciler quote a file from outside the repository by adding a
link to it among the manifests (SPEC §7; closing note of the first session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Run
from tests.support.manifests import manifest

SECRET = "linked-canary-value-77"


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_link_to_a_file_outside_the_repository_is_refused_unread(
    repo: Path, tmp_path: Path, cli: Run, command: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "credentials.yaml"
    target.write_text(f"apiVersion: {SECRET}\nkind: {SECRET}\n")
    (repo / "manifests" / "evil.yaml").symlink_to(target)
    code, out, err = cli("--env", "sandbox", command)
    assert code == 1
    assert err.splitlines()[0] == (
        "error: manifests/evil.yaml: is a link to a file outside the repository; manifests are "
        "read only from inside it"
    )
    assert SECRET not in out + err


def test_links_within_the_repository_and_named_paths_elsewhere_still_work(
    repo: Path, tmp_path: Path, cli: Run
) -> None:
    shared = repo / "shared"
    shared.mkdir()
    (shared / "one.yaml").write_text(manifest("one", 2163, 2317, []))
    (repo / "manifests" / "one.yaml").symlink_to(shared / "one.yaml")
    assert cli("--env", "sandbox", "validate") == (0, "ok: 1 document in 1 file\n", "")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "two.yaml").write_text(manifest("two", 2163, 2318, []))
    code, out, _ = cli("--env", "sandbox", "validate", str(elsewhere))
    assert (code, out) == (0, "ok: 1 document in 1 file\n")
