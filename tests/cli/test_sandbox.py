"""``reconciler sandbox``: its help, ``reset --db`` on paths it cannot use (issue 20 item 12),
and ``edit``/``show``, the UI user's view of the sandbox (item 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Run


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    assert "internal error" not in err
    return lines[0]


def test_reset_on_a_directory_is_one_line(cli: Run, tmp_path: Path) -> None:
    code, _, err = cli("sandbox", "reset", "--db", str(tmp_path))
    assert code == 1
    line = _one_error_line(err)
    assert f"--db {tmp_path} is a directory" in line


def test_reset_under_a_missing_parent_is_one_line_and_creates_nothing(
    cli: Run, tmp_path: Path
) -> None:
    db = tmp_path / "typo" / "deeper" / "sandbox.db"
    code, _, err = cli("sandbox", "reset", "--db", str(db))
    assert code == 1
    line = _one_error_line(err)
    assert f"directory {tmp_path / 'typo' / 'deeper'} does not exist" in line
    assert not (tmp_path / "typo").exists()


def test_reset_creates_the_default_reconciler_directory(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("sandbox", "reset")
    assert code == 0, err
    assert (tmp_path / ".reconciler" / "sandbox.db").is_file()


def test_serve_on_a_directory_is_one_line(cli: Run, tmp_path: Path) -> None:
    code, _, err = cli("sandbox", "serve", "--db", str(tmp_path), "--port", "0")
    assert code == 1
    assert f"--db {tmp_path} is a directory" in _one_error_line(err)
