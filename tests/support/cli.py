"""Running ``reconciler`` as a test does: in process through ``main(argv)``, or as a real process,
in a repository whose ``reconciler.yaml`` points its ``test`` environment at a test server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from reconciler.cli import main

Run = Callable[..., tuple[int, str, str]]  # the ``cli`` fixture: (exit code, stdout, stderr)

USERNAME, PASSWORD = "demo", "demo-password"
SENDER = "loyalty@northwind.example"
# Client settings that keep retry waits short, for tests about outcomes rather than timing.
FAST_RETRIES = {"backoff_base": 0.01, "backoff_cap": 0.05}


def run_in_process(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``main(argv)`` in this process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_config(repo: Path, url: str, *, auth: str = "basic", **extra: object) -> None:
    """reconciler.yaml whose default environment ``test`` is ``url``."""
    lines = [
        "defaultEnvironment: test",
        "environments:",
        "  test:",
        f"    endpoint: {url}",
        f"    auth: {auth}",
        f"    vars: {{sender: {SENDER}}}",
        "    rateLimit: 600000  # the test server has no limit; keep the client from pacing",
    ]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    (repo / "reconciler.yaml").write_text("\n".join(lines) + "\n")


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, step: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: this one (already cleaned by the guards) plus creds."""
    env = dict(os.environ)
    env.update({"CAPILLARY_USERNAME": USERNAME, "CAPILLARY_PASSWORD": PASSWORD})
    env.update(extra)
    return env


def spawn_cli(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """``reconciler ARGV`` as a real process with stdout and stderr as pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *argv],
        cwd=cwd,
        env=dict(env) if env is not None else cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
