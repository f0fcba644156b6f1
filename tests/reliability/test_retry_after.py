"""Issue 10 case 6 (SPEC §6): ``Retry-After`` is honoured in both of its forms, and a wait
beyond 60 s fails the run at once with a clear message instead of stalling CI.

The CLI plans the demo repository through a real HTTP proxy in front of the sandbox that
throttles one target's read. ``tests/api/test_calls.py`` pins the client's waits.
"""

from __future__ import annotations

import email.utils
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from tests.support.cli import Run, write_config
from tests.support.sandbox import comms
from tests.support.servers import Answer, Proxy, Seen

ROOT = Path(__file__).resolve().parents[2]
THROTTLED = comms(2163, 2318)


@pytest.fixture
def demo_repo(repo: Path) -> Path:
    shutil.rmtree(repo / "manifests")
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    return repo


def throttle_first(
    status: int, retry_after: Callable[[], str], *, times: int = 1
) -> Callable[[Seen, int], Answer | None]:
    """Answer the first ``times`` reads of THROTTLED with ``status`` and a Retry-After."""

    def rule(seen: Seen, n: int) -> Answer | None:
        if seen.path != THROTTLED or n > times:
            return None
        headers = {
            "Retry-After": retry_after(),
            "Date": email.utils.formatdate(usegmt=True),
            "Content-Type": "application/json",
        }
        body = json.dumps({"data": None, "errors": [{"code": status, "message": "slow down"}]})
        return Answer(status, body.encode(), headers)

    return rule


def in_seconds(seconds: int) -> Callable[[], str]:
    return lambda: str(seconds)


def as_http_date(seconds: int) -> Callable[[], str]:
    return lambda: email.utils.formatdate(time.time() + seconds, usegmt=True)


def gap(proxy: Proxy) -> float:
    first, second = [s.at for s in proxy.seen if s.path == THROTTLED]
    return second - first


@pytest.mark.parametrize(
    ("status", "retry_after", "at_least"),
    [(429, in_seconds(1), 1.0), (503, in_seconds(1), 1.0), (429, as_http_date(2), 1.0)],
    ids=["429-seconds", "503-seconds", "429-http-date"],
)
def test_retry_after_is_honoured_and_the_plan_completes(
    demo_repo: Path,
    sandbox: SandboxServer,
    cli: Run,
    status: int,
    retry_after: Callable[[], str],
    at_least: float,
) -> None:
    with Proxy(sandbox.url, throttle_first(status, retry_after)) as proxy:
        write_config(demo_repo, proxy.url)
        code, out, err = cli("plan")
    assert code == 0, err
    assert "Plan:" in out
    # An HTTP date has whole seconds: "2 s from now" is between 1 and 2 s away.
    assert gap(proxy) >= at_least


@pytest.mark.parametrize(
    ("status", "retry_after", "shown"),
    [
        (429, in_seconds(120), "120 s"),
        (503, in_seconds(3600), "3600 s"),
        (429, as_http_date(600), "s (Retry-After)"),
    ],
    ids=["429-120-seconds", "503-an-hour", "429-http-date-10-minutes"],
)
def test_retry_after_beyond_60_s_fails_fast_with_a_clear_message(
    demo_repo: Path,
    sandbox: SandboxServer,
    cli: Run,
    status: int,
    retry_after: Callable[[], str],
    shown: str,
) -> None:
    started = time.monotonic()
    with Proxy(sandbox.url, throttle_first(status, retry_after, times=99)) as proxy:
        write_config(demo_repo, proxy.url)
        code, out, err = cli("plan")
    elapsed = time.monotonic() - started

    assert code == 1
    assert "error: target 2163/2318 (spring-sprint-store-visits) could not be read:" in err
    assert "the server asked to wait" in err
    assert shown in err
    assert "longer than the 60 s this run allows; failing now instead of stalling" in err
    assert [s.path for s in proxy.seen].count(THROTTLED) == 1  # asked once, never waited
    assert "Plan:" in out  # the other targets still planned
    assert elapsed < 30  # a loose sanity bound: the point is that nothing waited for minutes
