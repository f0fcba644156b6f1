"""``apply``'s confirmation prompt on a real terminal (issue 20 item 4): Ctrl-C there ends the
run at once, "apply cancelled, nothing written", exit 1; so does end of input."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from tests.support import ROOT
from tests.support.cli import cli_env, write_config
from tests.support.sandbox import writes

PROMPT = b"Only 'yes' will be accepted: "


@pytest.fixture
def demo(repo: Path, sandbox: SandboxServer) -> Path:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    write_config(repo, sandbox.url)
    return repo


def _at_the_prompt(repo: Path) -> tuple[subprocess.Popen[bytes], int, bytes]:
    """``reconciler apply`` with stdin and stderr on a pseudo-terminal, once it asks."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply"],
        cwd=repo,
        env=cli_env(),
        stdin=slave,
        stderr=slave,
        stdout=subprocess.PIPE,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while PROMPT not in seen:
        assert time.monotonic() < deadline, seen
        seen += os.read(master, 4096)
    return process, master, seen


def _rest(master: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed: the process is gone
            return out
        if not chunk:
            return out
        out += chunk


@pytest.mark.parametrize("how", ["ctrl-c", "end of input"])
def test_leaving_the_prompt_cancels_at_once_and_writes_nothing(
    demo: Path, sandbox: SandboxServer, how: str
) -> None:
    process, master, _ = _at_the_prompt(demo)
    if how == "ctrl-c":
        process.send_signal(signal.SIGINT)
    else:
        os.write(master, b"\x04")  # Ctrl-D on an empty line: end of input
    code = process.wait(timeout=20)
    err = _rest(master).decode()
    os.close(master)
    assert process.stdout is not None
    process.stdout.close()
    assert code == 1, err
    assert "error: apply cancelled, nothing written" in err
    assert "Traceback" not in err
    assert "interrupted" not in err
    assert writes(sandbox.store.request_log()) == []


def test_an_answer_other_than_yes_cancels(demo: Path, sandbox: SandboxServer) -> None:
    process, master, _ = _at_the_prompt(demo)
    os.write(master, b"y\n")
    code = process.wait(timeout=20)
    err = _rest(master).decode()
    os.close(master)
    assert process.stdout is not None
    process.stdout.close()
    assert code == 1
    assert "error: apply cancelled, nothing written" in err
    assert writes(sandbox.store.request_log()) == []
