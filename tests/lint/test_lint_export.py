"""Export tells which template tags of the live org lint does not know (issue 17), so that an
adopted org lints clean once they are in the environment's ``tags:``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from tests.lint.conftest import Cli, write_config


def test_export_names_the_unknown_tags_and_with_them_the_export_lints_clean(
    tmp_path: Path, sandbox: SandboxServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAPILLARY_USERNAME", "demo")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "demo-password")
    write_config(tmp_path, "auth: basic", "tags: [target_name]", endpoint=sandbox.url)

    code, _, err = cli("export", "--all", "--out-dir", "exported")
    assert code == 0
    note = re.search(r"the live templates use (\d+) tags that lint does not know \((.*)\)", err)
    assert note is not None, err
    tags = note.group(2).split(", ")
    assert int(note.group(1)) == len(tags)
    assert "target_name" not in tags  # known from the configuration
    assert "first_name" not in tags  # known from Capillary's catalogue
    assert {"years", "reward_code", "period_end_date"} <= set(tags)
    assert "add them to environments.test.tags in reconciler.yaml" in err

    code, _, err = cli("lint", "exported")
    assert code == 0
    assert "[placeholder-unknown]" in err
    write_config(
        tmp_path, "auth: basic", f"tags: [target_name, {', '.join(tags)}]", endpoint=sandbox.url
    )
    code, out, err = cli("lint", "exported")
    assert (code, err) == (0, "")
    assert out.startswith("ok: 5 documents in 5 files\n")
