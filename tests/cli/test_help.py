"""Help texts (issue 20 item 11): every command's help, the ones other modules add included,
has readable metavars, states its defaults and says which options repeat; ``reconciler
sandbox`` alone shows its help."""

from __future__ import annotations

import re

import pytest
import typer.main

from reconciler.cli import app
from tests.support.cli import Run


def _commands() -> list[list[str]]:
    group = typer.main.get_group(app)
    found: list[list[str]] = [[]]

    def walk(command: object, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            found.append([*path, name])
            walk(sub, [*path, name])

    walk(group, [])
    return found


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "reconciler")
def test_help_has_plain_metavars_and_marks_repeatable_options(cli: Run, path: list[str]) -> None:
    code, out, _ = cli(*path, "--help")
    assert code == 0
    assert not re.search(r"<[a-z]+\[|<[a-z]+ range>|<(str|int|float|path|list)>", out), out
    for line in out.splitlines():
        if "--select" in line or "--set " in line or "--dialect" in line:
            assert "repeatable" in line.lower() or "(repeatable" in out, line


def test_defaults_that_depend_on_the_configuration_are_stated(cli: Run) -> None:
    out = " ".join(cli("apply", "--help")[1].split())
    assert "--parallelism N" in out
    assert "[default: the environment's parallelism, 8]" in out
    out = " ".join(cli("--help")[1].split())
    assert "--config FILE" in out
    assert "nearest parent directory" in out


def test_sandbox_alone_shows_its_help(cli: Run) -> None:
    _, out, err = cli("sandbox")
    assert "Commands:" in out + err
    assert "reset" in out + err
    assert "error" not in err.lower()
