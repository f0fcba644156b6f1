"""Issue 8, acceptance 3: `.pre-commit-hooks.yaml` offers `reconciler-validate` to other
repositories.

`pre-commit try-repo . reconciler-validate --all-files` pip-installs this repository into a new
virtualenv, which needs PyPI; tests stay off the network. So this is the equivalent test: the
hook definition is checked with pre-commit's own manifest schema, and pre-commit itself runs
the hook's entry, files and pass_filenames in a throwaway git repository, with only the
language switched to `system` so that the venv's `reconciler` serves instead of a fresh build.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pre_commit.clientlib import load_manifest

from tests.support import ROOT
from tests.support.workflows import VENV_BIN

HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
BAD_MANIFEST = ROOT / "tests" / "data" / "manifests" / "bad-unquoted-number.yaml"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")


def the_hook() -> dict[str, Any]:
    hooks = load_manifest(str(HOOKS_FILE))  # raises on anything pre-commit would reject
    assert [h["id"] for h in hooks] == ["reconciler-validate"]
    hook: dict[str, Any] = hooks[0]
    return hook


def test_hook_definition() -> None:
    hook = the_hook()
    assert hook["entry"] == "reconciler validate"
    assert hook["language"] == "python"  # pre-commit pip-installs this repository for it
    assert hook["pass_filenames"] is True
    assert hook["require_serial"] is True  # one process: cross-file checks see every file
    assert hook["args"] == []
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert hook["entry"].split()[0] in scripts  # the console script that install provides


def test_hook_files_select_the_manifests_and_nothing_else() -> None:
    files = re.compile(the_hook()["files"])
    manifests = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "manifests").rglob("*"))
    chosen = [p for p in manifests if files.search(p)]
    assert chosen == ["manifests/spring-sprint.yaml", "manifests/summer-streak.yaml"]
    for other in [
        "manifests/templates/weekly-shopper-finish.html",
        "reconciler.yaml",
        ".pre-commit-hooks.yaml",
        ".github/workflows/plan.yml",
        "tests/data/manifests/bad-unquoted-number.yaml",
        "schema/manifest.schema.json",
    ]:
        assert not files.search(other), other
    assert files.search("manifests/north/extra.yml")


def git_repository(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    repo = tmp_path / "consumer"
    repo.mkdir()
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    shutil.copy2(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
    hook = the_hook()
    local = {key: hook[key] for key in ("id", "name", "entry", "files", "pass_filenames")}
    local |= {"require_serial": hook["require_serial"], "language": "system"}
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (repo / ".pre-commit-config.yaml").write_text(json.dumps(config, indent=2))  # JSON is YAML
    env = {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LANG": "C.UTF-8",
    }
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    return repo, env


def pre_commit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    return subprocess.run(
        [str(VENV_BIN / "pre-commit"), "run", "reconciler-validate", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_pre_commit_runs_the_hook_on_manifests_and_fails_on_a_bad_one(tmp_path: Path) -> None:
    repo, env = git_repository(tmp_path)

    good = pre_commit(repo, env, "--all-files")
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"reconciler validate\.+Passed", good.stdout)

    # A broken YAML file outside manifests/ is not the hook's business ...
    (repo / "notes").mkdir()
    shutil.copy2(BAD_MANIFEST, repo / "notes" / "draft.yaml")
    assert pre_commit(repo, env, "--all-files").returncode == 0

    # ... a broken manifest is, and the hook names the file and line.
    shutil.copy2(BAD_MANIFEST, repo / "manifests" / "bad.yaml")
    bad = pre_commit(repo, env, "--all-files")
    assert bad.returncode == 1
    assert re.search(r"reconciler validate\.+Failed", bad.stdout)
    assert "error: manifests/bad.yaml:11:" in bad.stdout
    assert "notes/draft.yaml" not in bad.stdout


def test_pre_commit_skips_the_hook_without_manifests(tmp_path: Path) -> None:
    repo, env = git_repository(tmp_path)
    result = pre_commit(
        repo, env, "--files", "manifests/templates/weekly-shopper-finish.html", "reconciler.yaml"
    )
    assert result.returncode == 0
    assert "(no files to check)Skipped" in result.stdout
