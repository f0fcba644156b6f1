"""Issue 20, acceptance 4: completion scripts for bash, zsh and fish, and completion itself
driven through typer's environment-variable protocol (what the scripts run on each <Tab>):
commands, the environments of reconciler.yaml after `--env`, the manifests' selectors after
`--select`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.completion import environments, selectors
from tests.support import ROOT
from tests.support.workflows import VENV_BIN

CONFIG = """\
manifests: manifests/
environments:
  prod-eu:
    endpoint: https://eu.api.capillarytech.com
  prod-us:
    endpoint: https://us.api.capillarytech.com
  staging:
    endpoint: https://staging.api.capillarytech.com
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    (tmp_path / "reconciler.yaml").write_text(
        CONFIG.replace(
            "  prod-eu:",
            "  sandbox:\n    endpoint: sandbox\n"
            "    vars: {sender: loyalty@northwind.example}\n  prod-eu:",
        )
    )
    return tmp_path


def complete(cwd: Path, shell: str, **protocol: str) -> list[str]:
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "_RECONCILER_COMPLETE": f"complete_{shell}",
        **protocol,
    }
    done = subprocess.run(
        [str(VENV_BIN / "reconciler")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [line for line in done.stdout.splitlines() if line]


def bash(cwd: Path, line: str) -> list[str]:
    words = line.split(" ")
    return complete(cwd, "bash", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))


def test_a_command_completes(project: Path) -> None:
    assert bash(project, "reconciler pl") == ["plan"]
    assert set(bash(project, "reconciler ")) >= {"validate", "plan", "apply", "drift", "init"}


def test_env_completes_to_the_environments_of_the_configuration(project: Path) -> None:
    assert bash(project, "reconciler --env ") == ["prod-eu", "prod-us", "sandbox", "staging"]
    assert bash(project, "reconciler --env prod") == ["prod-eu", "prod-us"]
    # --config named first is the one read
    other = project / "other.yaml"
    other.write_text("environments:\n  eu-west:\n    endpoint: https://eu.example.com\n")
    assert bash(project, "reconciler --config other.yaml --env ") == ["eu-west", "sandbox"]


def test_select_completes_to_labels_and_names(project: Path) -> None:
    offered = bash(project, "reconciler plan --select ")
    assert "name=spring-sprint-spend-500" in offered
    assert "team=crm" in offered
    assert bash(project, "reconciler drift --select campaign=s") == [
        "campaign=spring-sprint",
        "campaign=summer-streak",
    ]


def test_options_complete(project: Path) -> None:
    assert "--detailed-exitcode" in bash(project, "reconciler plan --")


def test_zsh_and_fish_complete_too(project: Path) -> None:
    zsh = complete(project, "zsh", _TYPER_COMPLETE_ARGS="reconciler --env prod-")
    assert "prod-eu" in "\n".join(zsh)
    assert "prod-us" in "\n".join(zsh)
    fish = complete(
        project,
        "fish",
        _TYPER_COMPLETE_ARGS="reconciler pl",
        _TYPER_COMPLETE_FISH_ACTION="get-args",
    )
    assert fish[0].split("\t")[0] == "plan"


def test_without_a_configuration_only_the_sandbox_is_offered(tmp_path: Path) -> None:
    assert bash(tmp_path, "reconciler --env ") == ["sandbox"]
    assert bash(tmp_path, "reconciler plan --select ") == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_are_generated(tmp_path: Path, shell: str) -> None:
    # --show-completion detects the shell it runs in; typer's switch for tests turns the
    # detection off, so that the option takes the shell's name instead.
    done = subprocess.run(
        [str(VENV_BIN / "reconciler"), "--show-completion", shell],
        cwd=tmp_path,
        env={
            **os.environ,
            "HOME": str(tmp_path),
            "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"_RECONCILER_COMPLETE=complete_{shell}" in done.stdout
    assert "reconciler" in done.stdout
    if shell == "bash":  # the one shell every machine running this has
        syntax = subprocess.run(["bash", "-n"], input=done.stdout, text=True, check=False)
        assert syntax.returncode == 0


def test_show_completion_detects_the_shell_it_runs_in(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", f"{VENV_BIN / 'reconciler'} --show-completion"],
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "complete -o default -F _reconciler_completion reconciler" in done.stdout


def test_a_broken_configuration_offers_nothing_and_raises_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "reconciler.yaml"
    broken.write_text("environments: [\n")
    assert environments(broken) == []
    assert selectors(broken, None) == []
    assert environments(tmp_path / "missing.yaml") == []
