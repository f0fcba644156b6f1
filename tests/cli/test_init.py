"""`reconciler init` as a user runs it: flags in a script, prompts on a terminal, never an
overwrite, and a scaffold that validates and plans against the sandbox at once."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import Run
from tests.support.workflows import VENV_BIN


def test_init_then_validate_then_plan(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli("init", str(tmp_path / "repo"), "--environment", "prod-us")
    assert code == 0, err
    assert "created reconciler.yaml\n" in out
    assert f"next: cd {tmp_path / 'repo'} && reconciler validate" in out
    monkeypatch.chdir(tmp_path / "repo")
    code, out, err = cli("validate")
    assert (code, out) == (0, "ok: 1 document in 1 file\n"), err
    code, out, err = cli("--env", "prod-us", "validate")  # its vars are complete too
    assert code == 0, err
    code, out, err = cli("--env", "sandbox", "plan")
    assert code == 0, err
    assert "Plan: 1 to create, 0 to update, 0 to deactivate" in out


def test_the_next_step_quotes_a_directory_the_shell_would_split(cli: Run, tmp_path: Path) -> None:
    # Found in review: "next: cd my repo; x && ..." was printed as is, to be pasted.
    code, out, err = cli("init", str(tmp_path / "my repo; x"))
    assert code == 0, err
    assert f"next: cd '{tmp_path / 'my repo; x'}' && reconciler validate" in out


def test_a_second_init_changes_nothing_and_says_so(cli: Run, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path))[0] == 0
    config = tmp_path / "reconciler.yaml"
    config.write_text(config.read_text() + "# my edit\n")
    workflow = tmp_path / ".github" / "workflows" / "plan.yml"
    workflow.write_text(workflow.read_text().replace("timeout-minutes: 10", "timeout-minutes: 9"))
    code, out, err = cli("init", str(tmp_path))
    assert code == 0
    assert "unchanged manifests/example.yaml\n" in out
    assert "warning: skipped reconciler.yaml: it exists and was left as it is\n" in err
    assert (
        "warning: skipped .github/workflows/plan.yml: it exists and was left as it is "
        "(--force replaces it)\n" in err
    )
    assert config.read_text().endswith("# my edit\n")

    code, out, err = cli("init", str(tmp_path), "--force")
    assert code == 0
    assert "replaced .github/workflows/plan.yml" in out
    assert "timeout-minutes: 10" in workflow.read_text()
    assert config.read_text().endswith("# my edit\n")


def test_bad_flags_are_one_error_line_and_write_nothing(cli: Run, tmp_path: Path) -> None:
    code, out, err = cli("init", str(tmp_path / "x"), "--endpoint", "http://api.example.com")
    assert (code, out) == (1, "")
    assert err.startswith("error: --endpoint: ")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_on_a_terminal_it_asks(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(VENV_BIN / "reconciler"), "init", "repo", "--auth", "basic"],
        cwd=tmp_path,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(terminal)
    os.write(controller, b"prod-apac\nhttps://apac.api.capillarytech.com\n")
    out, _ = process.communicate(timeout=60)
    prompts = b""
    try:
        while chunk := os.read(controller, 4096):
            prompts += chunk
    except OSError:  # the terminal is gone once the process ended
        pass
    os.close(controller)
    assert process.returncode == 0, prompts
    assert b"Name of your live environment [prod-eu]: " in prompts
    assert b"Its Capillary API URL [https://eu.api.capillarytech.com]: " in prompts
    assert b"Authentication" not in prompts  # given as a flag
    config = (tmp_path / "repo" / "reconciler.yaml").read_text()
    assert (
        "  prod-apac:\n    endpoint: https://apac.api.capillarytech.com\n    auth: basic" in config
    )
    assert b"created .github/workflows/drift.yml" in out
