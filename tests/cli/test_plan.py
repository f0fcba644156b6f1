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
