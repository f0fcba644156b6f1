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


# --- sandbox edit / show: the UI user's view (item 10) ----------------------------------------


@pytest.fixture
def demo_repo(repo: Path) -> Path:
    """The demo manifests with ``endpoint: sandbox``: the embedded sandbox of this repository."""
    import shutil

    from tests.support import ROOT
    from tests.support.cli import SENDER

    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    (repo / "reconciler.yaml").write_text(
        f"environments:\n  sandbox:\n    endpoint: sandbox\n    vars: {{sender: {SENDER}}}\n"
    )
    return repo


def test_drift_and_its_attribution_in_three_commands(cli: Run, demo_repo: Path) -> None:
    import json
    from datetime import UTC, datetime

    code, out, err = cli(
        "sandbox", "edit", "--id", "5121", "--set", "messageTemplate=Edited in the UI",
        "--as", "Jane Doe",
    )  # fmt: skip
    assert code == 0, err
    assert "5121" in out
    code, out, err = cli("sandbox", "show", "--id", "5121")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["messageTemplate"] == "Edited in the UI"
    who = shown["attribution"]["lastUpdatedBy"]
    assert (who["name"], who["code"]) == ("Jane Doe", "jane.doe")
    when = shown["attribution"]["lastUpdatedOn"]
    assert when.startswith(datetime.now(UTC).strftime("%Y-%m-%d"))
    code, out, err = cli("drift")
    assert code == 2, err
    assert "by Jane Doe (jane.doe)" in out
    assert "Edited in the UI" in out


def test_edit_sets_typed_fields_and_refuses_unknown_ones(cli: Run, demo_repo: Path) -> None:
    import json

    code, _, err = cli(
        "sandbox", "edit", "--id", "5121", "--set", "offsetDays=3", "--set", "active=false",
    )  # fmt: skip
    assert code == 0, err
    shown = json.loads(cli("sandbox", "show", "--id", "5121")[1])
    assert (shown["offsetDays"], shown["active"]) == (3, False)
    code, _, err = cli("sandbox", "edit", "--id", "5121", "--set", "mesageTemplate=x")
    assert code == 1
    assert "did you mean 'messageTemplate'" in _one_error_line(err)
    # Found in review: a known field without '=VALUE' was answered "did you mean" itself.
    code, _, err = cli("sandbox", "edit", "--id", "5121", "--set", "messageTemplate")
    assert code == 1
    assert "--set messageTemplate needs a value: messageTemplate=VALUE" in _one_error_line(err)
    code, _, err = cli("sandbox", "edit", "--id", "999999", "--set", "sender=a@b.example")
    assert code == 1
    assert "communication 999999 does not exist" in _one_error_line(err)


def test_show_without_an_id_lists_the_targets_and_their_ids(cli: Run, demo_repo: Path) -> None:
    code, out, err = cli("sandbox", "show")
    assert code == 0, err
    assert "2185 (Anniversary Club)" in out
    assert "5121" in out


def test_the_documented_curl_request_and_docs_page_work(sandbox: object) -> None:
    """docs/sandbox.md: the Basic header with the md5 digest, and the /docs page."""
    import base64
    import hashlib

    import httpx

    from tests.support import ROOT

    text = (ROOT / "docs" / "sandbox.md").read_text()
    assert "md5sum" in text
    assert "/docs" in text
    url = sandbox.url  # type: ignore[attr-defined]
    digest = hashlib.md5(b"demo-password").hexdigest()
    header = "Basic " + base64.b64encode(f"demo:{digest}".encode()).decode()
    with httpx.Client(base_url=url) as client:
        answer = client.get(
            "/v3/targetGroups/2163/targets/2317/communications", headers={"Authorization": header}
        )
        assert answer.status_code == 200
        assert answer.json()["data"][0]["id"] == 5101
        assert client.get("/docs").status_code == 200
