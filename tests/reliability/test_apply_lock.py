"""Issue 14 item 7: two applies started at once on one machine never both write.

``apply`` holds ``.reconciler/apply.lock`` (an OS-level ``flock``) from before its first request
to its end. A second apply waits for it (bounded by ``--lock-timeout``), naming the holder's pid
and start time, then plans the state the first one left: it writes nothing more. With a short
timeout it refuses, writing nothing. A lock whose holder died (even by ``kill -9``) is free.
All with real processes.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SandboxFactory
from tests.support.cli import Run, spawn_cli, wait_for, write_config
from tests.support.sandbox import assert_no_duplicates, writes

ROOT = Path(__file__).resolve().parents[2]
DEMO_TARGETS = [(2163, 2317), (2163, 2318), (2163, 2319), (2170, 2401), (2170, 2402)]


@pytest.fixture
def demo_repo(repo: Path) -> Path:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    return repo


def lock_holder(repo: Path) -> int | None:
    try:
        return int(json.loads((repo / ".reconciler" / "apply.lock").read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def test_a_second_apply_waits_for_the_first_and_then_writes_nothing(
    demo_repo: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory(latency_ms=1200)  # the first apply takes several seconds
    write_config(demo_repo, server.url)

    first = spawn_cli(["apply", "--auto-approve"], demo_repo)
    try:
        wait_for(lambda: lock_holder(demo_repo) == first.pid, timeout=60)
        second = spawn_cli(["apply", "--auto-approve"], demo_repo)
        out2, err2 = second.communicate(timeout=120)
    finally:
        _, err1 = first.communicate(timeout=120)

    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert f"another apply is running in this repository (pid {first.pid}, started " in err2
    assert "waiting up to 60 s" in err2
    assert "No changes" in out2  # it planned after the first had written everything
    committed = Counter(r.path for r in writes(server.store.request_log()) if r.committed)
    assert set(committed.values()) == {1}
    assert_no_duplicates(server.store, DEMO_TARGETS)
    assert lock_holder(demo_repo) is None  # released: the file no longer names anyone


HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from reconciler.applier.lock import apply_lock

    async def hold() -> None:
        async with apply_lock(Path(sys.argv[1])):
            print("held", flush=True)
            await asyncio.sleep(120)

    asyncio.run(hold())
    """
)


def hold_lock(repo: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(repo)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_second_apply_refuses_after_its_lock_timeout_and_writes_nothing(
    demo_repo: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory()
    write_config(demo_repo, server.url)
    holder = hold_lock(demo_repo)
    try:
        second = spawn_cli(["apply", "--auto-approve", "--lock-timeout", "0.5"], demo_repo)
        out, err = second.communicate(timeout=60)
    finally:
        holder.kill()
        holder.wait()

    assert second.returncode == 1, out + err
    assert f"error: another apply is running in this repository (pid {holder.pid}, started " in err
    assert "nothing was written" in err
    assert "Traceback" not in err
    assert server.store.request_log() == []  # not even a read: the lock comes first


def test_a_lock_whose_holder_was_killed_is_taken_over(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    server = sandbox_factory()
    write_config(demo_repo, server.url)
    holder = hold_lock(demo_repo)
    code, _, err = cli("apply", "--auto-approve", "--lock-timeout", "0")
    assert code == 1
    assert f"pid {holder.pid}" in err
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock_holder(demo_repo) == holder.pid  # the file still names the dead process

    code, out, err = cli("apply", "--auto-approve", "--lock-timeout", "0")

    assert code == 0, out + err
    assert writes(server.store.request_log())
    assert_no_duplicates(server.store, DEMO_TARGETS)


def test_the_lock_file_is_never_written_through_a_symlink(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run, tmp_path: Path
) -> None:
    server = sandbox_factory()
    write_config(demo_repo, server.url)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (demo_repo / ".reconciler").mkdir(exist_ok=True)
    (demo_repo / ".reconciler" / "apply.lock").symlink_to(outside)

    code, _, err = cli("apply", "--auto-approve")

    assert code == 1
    assert "cannot create the apply lock" in err
    assert "symbolic link" in err
    assert outside.read_text() == "precious\n"
    assert server.store.request_log() == []


def test_a_reconciler_path_that_is_a_file_is_named_as_not_a_directory(
    demo_repo: Path, sandbox_factory: SandboxFactory, cli: Run
) -> None:
    server = sandbox_factory()
    write_config(demo_repo, server.url)
    shutil.rmtree(demo_repo / ".reconciler", ignore_errors=True)
    (demo_repo / ".reconciler").write_text("not a directory\n")

    code, _, err = cli("apply", "--auto-approve")

    assert code == 1
    assert "cannot create the apply lock" in err
    assert ".reconciler is not a directory" in err
    assert "File exists" not in err
    assert (demo_repo / ".reconciler").read_text() == "not a directory\n"
    assert server.store.request_log() == []
