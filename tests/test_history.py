"""``reconciler.history``: the kept runs (the last 50), reading a report back, the commit."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.errors import UsageError
from reconciler.history import (
    HISTORY_KEPT,
    commit_of,
    history_dir,
    read_report,
    store_run,
    stored_runs,
)


def _report(started: str, environment: str = "prod", **extra: object) -> str:
    return json.dumps(
        {
            "formatVersion": 1,
            "environment": environment,
            "startedAt": started,
            "targets": [
                {"targetGroupId": 1, "targetId": 2, "name": "a", "outcome": "applied",
                 "preImage": []},
                {"targetGroupId": 1, "targetId": 3, "outcome": "failed"},
            ],
            **extra,
        }
    )  # fmt: skip


def test_the_last_fifty_runs_are_kept_oldest_first(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute in range(HISTORY_KEPT + 2):
        moment = start + timedelta(minutes=minute)
        store_run(tmp_path, "prod", _report(moment.isoformat()), moment)
    kept = sorted(history_dir(tmp_path, "prod").glob("*.json"))
    assert len(kept) == HISTORY_KEPT
    assert kept[0].name == "2026-01-01T00-02-00.000000Z.json"  # the two oldest went
    assert not list(kept[0].parent.glob(".*"))  # no scratch file is left behind
    runs = stored_runs(tmp_path)
    assert [r.report.startedAt for r in runs] == sorted(r.report.startedAt for r in runs)
    assert runs[0].report.outcome == "1 failed"
    assert [t.label for t in runs[0].report.touched] == ["a (1/2)"]


def test_runs_are_listed_per_environment_and_a_stray_file_is_left_out(tmp_path: Path) -> None:
    store_run(tmp_path, "prod", _report("2026-01-01T00:00:00+00:00"))
    store_run(tmp_path, "stage", _report("2026-01-02T00:00:00+00:00", "stage", refused="x"))
    (history_dir(tmp_path, "prod") / "notes.json").write_text("not a report")
    assert [r.report.environment for r in stored_runs(tmp_path)] == ["prod", "stage"]
    (stage,) = stored_runs(tmp_path, "stage")
    assert stage.report.outcome == "refused"
    assert history_dir(tmp_path, "../up") == tmp_path / ".reconciler" / "history" / "_up"


def test_a_file_that_is_no_report_is_one_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with pytest.raises(UsageError, match="cannot read report"):
        read_report(path)
    path.write_text("[1, 2")
    with pytest.raises(UsageError, match="is not a reconciler apply report"):
        read_report(path)
    path.write_text(json.dumps({"formatVersion": 2, "environment": "x", "startedAt": ""}))
    with pytest.raises(UsageError, match=r"formatVersion"):
        read_report(path)


def test_the_commit_is_github_sha_else_git_head(tmp_path: Path) -> None:
    assert commit_of(tmp_path, {"GITHUB_SHA": "abc"}) == "abc"
    assert commit_of(tmp_path, {}) is None  # not a git repository
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty",
         "-m", "x"],
        cwd=tmp_path,
        check=True,
    )  # fmt: skip
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert commit_of(tmp_path, {}) == head


def test_keeping_a_run_never_removes_a_file_it_did_not_write(tmp_path: Path) -> None:
    directory = history_dir(tmp_path, "prod")
    directory.mkdir(parents=True)
    (directory / "notes.json").write_text("{}")  # a file of the user's, sorted after the runs
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(HISTORY_KEPT + 3):
        store_run(tmp_path, "prod", _report(f"{i}"), start + timedelta(seconds=i))
    assert (directory / "notes.json").exists()
    assert len(list(directory.glob("2026-*.json"))) == HISTORY_KEPT


def test_a_history_directory_that_leads_elsewhere_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for i in range(HISTORY_KEPT + 3):  # someone's files, named like runs
        (elsewhere / f"2025-01-01T00-00-{i:02d}.000000Z.json").write_text("{}")
    history = tmp_path / "repo" / ".reconciler" / "history"
    history.mkdir(parents=True)
    (history / "prod").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="leads outside"):
        store_run(tmp_path / "repo", "prod", _report("now"))
    assert len(list(elsewhere.iterdir())) == HISTORY_KEPT + 3


def test_a_report_that_never_ends_is_refused_once_it_is_too_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A device or pipe has no size to check first: reading stops at the limit.
    monkeypatch.setattr("reconciler.history.MAX_REPORT_BYTES", 1024)
    with pytest.raises(UsageError, match="too large to be a run report"):
        read_report(Path("/dev/zero"))


def test_two_environments_sharing_a_directory_are_listed_apart(tmp_path: Path) -> None:
    assert history_dir(tmp_path, "prod/eu") == history_dir(tmp_path, "prod_eu")
    store_run(tmp_path, "prod/eu", _report("2026-01-01T00:00:00+00:00", "prod/eu"))
    store_run(tmp_path, "prod_eu", _report("2026-01-02T00:00:00+00:00", "prod_eu"))
    assert [r.report.environment for r in stored_runs(tmp_path, "prod_eu")] == ["prod_eu"]
    assert [r.report.environment for r in stored_runs(tmp_path, "prod/eu")] == ["prod/eu"]
