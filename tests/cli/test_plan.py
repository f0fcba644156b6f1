"""``plan`` and ``drift`` on a selection: a selector that matches nothing is an error naming what
exists, an empty shard is not (issue 20 item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from tests.support import ROOT
from tests.support.cli import Run, write_config


@pytest.fixture
def demo(repo: Path, sandbox: SandboxServer) -> Path:
    """The repository with the shipped demo manifests, against a sandbox server."""
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    write_config(repo, sandbox.url)
    return repo


@pytest.mark.parametrize("command", ["plan", "drift", "apply"])
def test_a_label_nobody_uses_is_an_error_naming_the_labels_in_use(
    cli: Run, demo: Path, sandbox: SandboxServer, command: str
) -> None:
    before = len(sandbox.store.request_log())
    approve = ["--auto-approve"] if command == "apply" else []
    code, _, err = cli(command, "--select", "team=nobody", *approve)
    assert code == 1
    assert "error: --select team=nobody matches no manifest" in err
    assert "team=crm" in err  # what the manifests do use
    assert "region=eu" in err
    assert len(sandbox.store.request_log()) == before  # refused before any request


def test_name_selector_lists_the_names(cli: Run, demo: Path) -> None:
    code, _, err = cli("plan", "--select", "name=nope")
    assert code == 1
    assert "name=spring-sprint-spend-500" in err


def test_selectors_that_match_nothing_together(cli: Run, demo: Path) -> None:
    code, _, err = cli("plan", "--select", "team=growth", "--select", "campaign=summer-streak")
    assert code == 1
    assert "--select team=growth --select campaign=summer-streak matches no manifest" in err


def test_a_group_no_manifest_declares_is_an_error_naming_the_declared_groups(
    cli: Run, demo: Path
) -> None:
    code, out, err = cli("plan", "--target-group", "Anniversary Club")
    assert code == 1, out
    assert "--target-group Anniversary Club matches no manifest" in err
    assert "2163, Summer Streak" in err  # the groups the manifests declare, as written
    assert "No changes" not in out


def test_an_empty_shard_is_not_an_error(cli: Run, demo: Path) -> None:
    outcomes = [cli("plan", "--shard", f"{k}/4") for k in range(1, 5)]
    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0]
    empty = [err for _, out, err in outcomes if "shard" in err]
    assert len(empty) == 1  # the demo's five targets leave shard 3/4 empty
    assert "shard 3/4 holds no targets" in empty[0]


def test_an_unknown_channel_lists_the_channels_that_exist(cli: Run, demo: Path) -> None:
    """Issue 20 item 11."""
    path = demo / "manifests" / "summer-streak.yaml"
    path.write_text(path.read_text().replace("channel: SMS", "channel: WHATSAPP", 1))
    code, _, err = cli("plan")
    assert code == 1
    (line,) = [line for line in err.splitlines() if "WHATSAPP" in line]
    assert line.endswith(
        "channel 'WHATSAPP' does not exist; the channels are SMS (1), EMAIL (2), MOBILE PUSH (3)"
    )


def test_a_plan_of_more_than_20_targets_shows_a_read_bar_on_a_terminal(
    repo: Path, sandbox_db: Path, sandbox_factory: object
) -> None:
    """Issue 20 item 3, on a real process whose stderr is a pseudo-terminal: the bar (label,
    count, ETA) is drawn on stderr and the plan on stdout stays clean."""
    import os
    import re
    import subprocess
    import sys

    from reconciler.sandbox.seed import seed_synthetic
    from tests.support.cli import cli_env
    from tests.support.manifests import synthetic_manifests

    programme = seed_synthetic(sandbox_db, groups=3, targets_per_group=10)
    synthetic_manifests(repo / "manifests", programme.targets)
    server = sandbox_factory(latency_ms=20)  # type: ignore[operator]
    write_config(repo, server.url)
    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "plan"],
        cwd=repo,
        env=cli_env(COLUMNS="120"),
        stdin=subprocess.DEVNULL,
        stderr=slave,
        stdout=subprocess.PIPE,
        text=True,
    )
    os.close(slave)
    out, _ = process.communicate(timeout=120)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode(errors="replace"))
    assert process.returncode == 0, screen
    assert "reading" in screen
    assert "/30 targets, ETA" in screen
    assert "reading" not in out
    assert out.strip().endswith("across 30 targets.")
