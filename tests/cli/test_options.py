"""The global options (``--env``, ``--config``, ``-v``, ``--no-color``) are accepted before the
command and after it, at any depth (``reconciler sandbox reset --db X -v``), for every command
registered on the app (issue 20 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import app
from reconciler.cli.options import hoist_global_options
from tests.support.cli import Run

CONFIG = """\
defaultEnvironment: sandbox
environments:
  sandbox: {endpoint: sandbox}
  prod-eu: {endpoint: "https://eu.api.example"}
"""


def test_env_after_the_command_selects_the_environment(cli: Run, repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(CONFIG)
    code, _, err = cli("plan", "--env", "nowhere", "-v")
    assert code == 1
    assert "unknown environment 'nowhere'" in err
    assert "No such option" not in err


def test_config_after_the_command_is_read(cli: Run, repo: Path) -> None:
    (repo / "other.yaml").write_text("manifests: nowhere/\nbogus: 1\n")
    code, _, err = cli("validate", "--config=other.yaml")
    assert code == 1
    assert "other.yaml:2:1" in err


def test_verbose_after_a_nested_command(cli: Run, repo: Path) -> None:
    code, out, err = cli("sandbox", "reset", "--db", str(repo / "s.db"), "-v")
    assert code == 0, err
    assert "reset" in out


@pytest.mark.parametrize(
    "argv",
    [["plan", "--env"], ["sandbox", "edit", "--id", "1", "--config"], ["validate", "--env"]],
)
def test_a_global_option_after_the_command_without_its_value_says_so(
    cli: Run, repo: Path, argv: list[str]
) -> None:
    # Found in review: it was moved in front of the command and took the command's name for
    # its value: "Missing command.", or "No such command 'edit'. Did you mean 'drift'?".
    code, out, err = cli(*argv)
    assert (code, out) == (1, "")
    assert err == f"error: option '{argv[-1]}' requires a value\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plan", "--env", "prod-eu", "-v"], ["--env", "prod-eu", "-v", "plan"]),
        (["plan", "--env=prod-eu"], ["--env=prod-eu", "plan"]),
        (["--env", "a", "plan", "-v", "--env", "b"], ["--env", "a", "-v", "--env", "b", "plan"]),
        # The value of a command's own option is never taken for a global option.
        (["plan", "--select", "-v"], ["plan", "--select", "-v"]),
        (["plan", "--out", "--env"], ["plan", "--out", "--env"]),
        # After ``--`` everything is an argument.
        (["validate", "--", "-v"], ["validate", "--", "-v"]),
        (["sandbox", "reset", "--no-color"], ["--no-color", "sandbox", "reset"]),
        (["--help"], ["--help"]),
        # Found in review: combined short global flags stayed behind ("No such option: -v").
        (["plan", "-vv"], ["-vv", "plan"]),
        (["plan", "-vh"], ["plan", "-vh"]),  # -h is the command's: left to it, whole
    ],
)
def test_hoisting(argv: list[str], expected: list[str]) -> None:
    import typer.main

    assert hoist_global_options(typer.main.get_group(app), argv) == expected
