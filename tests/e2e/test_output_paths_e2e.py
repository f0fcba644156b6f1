"""Output files are checked before the first request; failing to write them later is only a
warning (issue 14 items 10 and 12).

``--out`` (plan), ``--report`` (apply) and ``GITHUB_STEP_SUMMARY`` (plan, drift, apply) that
cannot be written are refused with one ``error:`` line before anything is sent to the API, and
nothing is created or truncated by the check. When such a file becomes unwritable during an
apply (here: its directory is deleted while a slow sandbox answers the writes), apply still
prints its summary, warns on stderr, and keeps its exit code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import FaultConfig, SandboxServer
from reconciler.sandbox.faults import Fault
from tests.support import ROOT
from tests.support.cli import PASSWORD, USERNAME, Run, write_config
from tests.support.sandbox import writes

Bad = Callable[[Path], Path]


def missing_directory(repo: Path) -> Path:
    return repo / "no-such-dir" / "file"


def a_directory(repo: Path) -> Path:
    (repo / "a-dir").mkdir()
    return repo / "a-dir"


def under_a_file(repo: Path) -> Path:
    (repo / "a-file").write_text("keep\n")
    return repo / "a-file" / "file"


def dangling_symlink_into_nowhere(repo: Path) -> Path:
    (repo / "link").symlink_to(repo / "gone" / "target")
    return repo / "link"


BAD_PATHS: dict[str, Bad] = {
    "missing directory": missing_directory,
    "a directory": a_directory,
    "under a regular file": under_a_file,
    "dangling symlink": dangling_symlink_into_nowhere,
}

COMMANDS: dict[str, Callable[[Path], tuple[tuple[str, ...], dict[str, str]]]] = {
    "plan --out": lambda p: (("plan", "--out", str(p)), {}),
    "plan --format json --out": lambda p: (("plan", "--format", "json", "--out", str(p)), {}),
    "apply --report": lambda p: (("apply", "--auto-approve", "--report", str(p)), {}),
    "plan with step summary": lambda p: (("plan",), {"GITHUB_STEP_SUMMARY": str(p)}),
    "drift with step summary": lambda p: (("drift",), {"GITHUB_STEP_SUMMARY": str(p)}),
    "apply with step summary": lambda p: (
        ("apply", "--auto-approve"),
        {"GITHUB_STEP_SUMMARY": str(p)},
    ),
}


@pytest.mark.parametrize("bad", list(BAD_PATHS.values()), ids=list(BAD_PATHS))
@pytest.mark.parametrize("command", list(COMMANDS.values()), ids=list(COMMANDS))
def test_an_unwritable_output_is_refused_before_any_request(
    workspace: Path,
    cli: Run,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    bad: Bad,
    command: Callable[[Path], tuple[tuple[str, ...], dict[str, str]]],
) -> None:
    path = bad(workspace)
    argv, env = command(path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = sorted(p.relative_to(workspace) for p in workspace.rglob("*"))
    sandbox.store.clear_request_log()
    code, out, err = cli(*argv)
    assert code == 1, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "internal error" not in err
    assert "Traceback" not in err
    assert str(path) in lines[0]
    assert sandbox.store.request_log() == []  # not even a token or a read
    assert sorted(p.relative_to(workspace) for p in workspace.rglob("*")) == before
    if (workspace / "a-file").exists():
        assert (workspace / "a-file").read_text() == "keep\n"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into a read-only (0555) directory anyway, so there is nothing to refuse",
)
@pytest.mark.parametrize("command", list(COMMANDS.values()), ids=list(COMMANDS))
def test_a_read_only_directory_is_refused_before_any_request(
    workspace: Path,
    cli: Run,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    command: Callable[[Path], tuple[tuple[str, ...], dict[str, str]]],
) -> None:
    locked = workspace / "locked"
    locked.mkdir()
    (locked / "existing").write_text("keep\n")
    locked.chmod(0o555)
    (locked / "existing").chmod(0o444)
    try:
        for path in (locked / "new", locked / "existing"):
            argv, env = command(path)
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            sandbox.store.clear_request_log()
            code, _, err = cli(*argv)
            assert code == 1
            assert err.startswith("error: ")
            assert str(path) in err
            assert sandbox.store.request_log() == []
        assert sorted(p.name for p in locked.iterdir()) == ["existing"]
        assert (locked / "existing").read_text() == "keep\n"
    finally:
        locked.chmod(0o755)


def test_the_check_neither_creates_nor_truncates_files(
    workspace: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that fails (here: a manifest error) leaves existing files as they were and
    creates none: the files are written only once the run has something to write."""
    (workspace / "old-report.json").write_text('{"old": true}\n')
    (workspace / "old-plan.json").write_text('{"old": true}\n')
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(workspace / "summary.md"))
    manifest = workspace / "manifests" / "spring-sprint.yaml"
    manifest.write_text(manifest.read_text().replace("offsetDays: 3", "offsetDays: -3"))
    assert cli("plan", "--out", "old-plan.json")[0] == 1
    assert cli("plan", "--out", "new-plan.json")[0] == 1
    assert cli("apply", "--auto-approve", "--report", "old-report.json")[0] == 1
    assert cli("apply", "--auto-approve", "--report", "new-report.json")[0] == 1
    assert (workspace / "old-report.json").read_text() == '{"old": true}\n'
    assert (workspace / "old-plan.json").read_text() == '{"old": true}\n'
    for name in ("new-plan.json", "new-report.json", "summary.md"):
        assert not (workspace / name).exists()


def test_writable_outputs_and_an_empty_step_summary_variable_are_fine(
    workspace: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", "")  # set but empty: no step summary
    (workspace / "out").mkdir()
    code, _, err = cli("plan", "--out", "out/plan.json")
    assert code == 0, err
    assert json.loads((workspace / "out" / "plan.json").read_text())["formatVersion"] == 1
    code, _, err = cli("apply", "--auto-approve", "--report", "out/report.json")
    assert code == 0, err
    assert json.loads((workspace / "out" / "report.json").read_text())["targets"]


# -- the files become unwritable after the first write ------------------------------------------


def _slow_repo(tmp_path: Path, sandbox_db: Path, **faults: Any) -> tuple[Path, SandboxServer]:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    server = SandboxServer(sandbox_db, faults=FaultConfig(latency_ms=250, **faults)).start()
    write_config(repo, server.url)
    return repo, server


@pytest.fixture
def slow_repo(tmp_path: Path, sandbox_db: Path) -> Iterator[tuple[Path, SandboxServer]]:
    repo, server = _slow_repo(tmp_path, sandbox_db)
    yield repo, server
    server.stop()


@pytest.fixture
def slow_repo_one_failing(tmp_path: Path, sandbox_db: Path) -> Iterator[tuple[Path, SandboxServer]]:
    """The last target written (2170/2401) is refused with 403: that target fails, exit 1."""
    upsert = "/v3/targetGroups/2170/targets/2401/communications/upsert"
    repo, server = _slow_repo(tmp_path, sandbox_db, path_faults={upsert: Fault.FORBIDDEN})
    yield repo, server
    server.stop()


def _spawn(repo: Path, argv: list[str], **env: str) -> subprocess.Popen[str]:
    environ = dict(os.environ, CAPILLARY_USERNAME=USERNAME, CAPILLARY_PASSWORD=PASSWORD, **env)
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *argv],
        cwd=repo,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _after_first_write(server: SandboxServer, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not writes(server.store.request_log()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "apply never wrote"
        time.sleep(0.01)


@pytest.mark.parametrize("failing_target", [False, True], ids=["all applied", "one fails"])
def test_outputs_that_vanish_after_the_first_write_are_warnings_and_keep_the_exit_code(
    request: pytest.FixtureRequest, failing_target: bool
) -> None:
    fixture = "slow_repo_one_failing" if failing_target else "slow_repo"
    repo, server = request.getfixturevalue(fixture)
    outputs = repo / "outputs"
    outputs.mkdir()
    process = _spawn(
        repo,
        ["apply", "--auto-approve", "--parallelism", "1", "--report", "outputs/report.json"],
        GITHUB_STEP_SUMMARY=str(outputs / "summary.md"),
    )
    try:
        _after_first_write(server, process)
        shutil.rmtree(outputs)  # the disk "goes away" while later writes are still to come
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in err
    assert "internal error" not in err
    assert process.returncode == (1 if failing_target else 0), err
    summary = [line for line in out.splitlines() if line.startswith("Apply complete:")]
    assert len(summary) == 1, out  # the summary still reaches stdout
    assert ("1 failed" in summary[0]) is failing_target
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert any("outputs/report.json" in line for line in warnings), err
    assert any("summary.md" in line for line in warnings), err
    assert not outputs.exists()  # nothing re-created the directory
    assert len(writes(server.store.request_log())) >= 3


def test_a_report_path_replaced_by_a_directory_mid_run_is_a_warning(
    slow_repo: tuple[Path, SandboxServer],
) -> None:
    repo, server = slow_repo
    process = _spawn(
        repo, ["apply", "--auto-approve", "--parallelism", "1", "--report", "report.json"]
    )
    try:
        _after_first_write(server, process)
        (repo / "report.json").mkdir()
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Apply complete:" in out
    assert [line for line in err.splitlines() if line.startswith("warning: ")], err
    assert "report.json" in err
    assert "Traceback" not in err


def test_plan_out_that_vanishes_after_planning_is_one_error_line(
    slow_repo: tuple[Path, SandboxServer],
) -> None:
    """Planning writes nothing to the API, but the saved plan is what was asked for: exit 1."""
    repo, server = slow_repo
    (repo / "outputs").mkdir()
    process = _spawn(repo, ["plan", "--out", "outputs/plan.json"])
    try:
        deadline = time.monotonic() + 60
        while not server.store.request_log():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        shutil.rmtree(repo / "outputs")
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1
    assert err.count("error: ") == 1, err
    assert "outputs/plan.json" in err
    assert "internal error" not in err
    assert "Plan: " in out  # the plan itself was still shown
