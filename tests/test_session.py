"""The API key's budget (issue 21): ``--shard K/N`` takes its share of the environment's
``rateLimit``, ``--rate-limit`` replaces it, and the limit covers every request of the run
(token fetches and name resolution included). Asserted on the limiter's configuration and
the sandbox's request log, never on wall time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reconciler import session
from reconciler.api.settings import ClientSettings
from reconciler.config import select
from reconciler.live import Selection, make_run_plan
from reconciler.sandbox import SandboxServer
from reconciler.sandbox.auth import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET
from reconciler.sandbox.seed import EMAIL
from reconciler.session import client_settings, open_client
from tests.conftest import SandboxFactory
from tests.support.cli import Run, write_config
from tests.support.manifests import communication, manifest

GOOD = manifest("good", 2163, 2317, [communication("START", EMAIL, "m")])
OTHER = manifest("other", 2163, 2318, [communication("START", EMAIL, "n")])


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The ``rate_limit_per_minute`` of every client the CLI builds in this test."""
    seen: list[float | None] = []

    def recording(**kwargs: object) -> ClientSettings:
        built = ClientSettings(**kwargs)  # type: ignore[arg-type]
        seen.append(built.rate_limit_per_minute)
        return built

    monkeypatch.setattr(session, "ClientSettings", recording)
    return seen


@pytest.mark.parametrize(
    ("configured", "rate_limit", "shards", "expected"),
    [
        ("rateLimit: 120", None, 4, 30.0),  # the key's 120/min shared by 4 jobs
        ("rateLimit: 120", None, 1, 120.0),
        ("rateLimit: 120", 90.0, 4, 90.0),  # --rate-limit is this job's own, as given
        ("", None, 4, 25.0),  # Capillary's documented 100/min per key, shared
    ],
)
def test_a_shard_gets_its_share_of_the_keys_rate_limit(
    repo: Path, configured: str, rate_limit: float | None, shards: int, expected: float
) -> None:
    lines = [
        line
        for line in [
            "defaultEnvironment: test",
            "environments:",
            "  test:",
            "    endpoint: https://eu.api.capillarytech.com",
            "    auth: basic",
            f"    {configured}" if configured else "",
        ]
        if line
    ]
    (repo / "reconciler.yaml").write_text("\n".join(lines) + "\n")
    settings = select(None, None)
    built = client_settings(
        settings, base_url=settings.env.endpoint, rate_limit=rate_limit, shards=shards
    )
    assert built.rate_limit_per_minute == expected


def test_plan_shares_the_rate_limit_by_shard_and_rate_limit_overrides_it(
    repo: Path, sandbox: SandboxServer, cli: Run, rates: list[float | None]
) -> None:
    (repo / "manifests" / "good.yaml").write_text(GOOD)
    write_config(repo, sandbox.url)  # rateLimit: 600000

    assert cli("plan", "--shard", "1/4")[0] in (0, 2)
    assert cli("plan", "--shard", "1/4", "--rate-limit", "90000")[0] in (0, 2)
    assert cli("plan")[0] in (0, 2)
    assert rates == [150000.0, 90000.0, 600000.0]


def test_apply_takes_rate_limit_from_the_command_line(
    repo: Path, sandbox: SandboxServer, cli: Run, rates: list[float | None]
) -> None:
    (repo / "manifests" / "good.yaml").write_text(GOOD)
    write_config(repo, sandbox.url)

    code, _, err = cli("apply", "--auto-approve", "--rate-limit", "123456")

    assert code == 0, err
    assert rates == [123456.0]


@pytest.mark.parametrize("value", ["0", "nan", "-5"])
def test_a_bad_rate_limit_is_a_usage_error_before_any_request(
    repo: Path, sandbox: SandboxServer, cli: Run, value: str
) -> None:
    (repo / "manifests" / "good.yaml").write_text(GOOD)
    write_config(repo, sandbox.url)

    code, _, err = cli("plan", f"--rate-limit={value}")

    assert code == 1
    assert "--rate-limit" in err
    assert sandbox.store.request_log() == []


def test_every_request_of_a_run_passes_the_rate_limit_token_and_resolution_included(
    repo: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", DEMO_CLIENT_KEY)
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    (repo / "manifests" / "good.yaml").write_text(GOOD + "---\n" + OTHER)
    write_config(repo, sandbox.url, auth="oauth")
    settings = select(None, None)

    async def go() -> int:
        async with open_client(settings, rate_limit=60000, shards=2) as client:
            assert client.settings.rate_limit_per_minute == 60000  # --rate-limit wins
            await make_run_plan(settings, Selection(), client, parallelism=4)
            return client.limiter.admitted

    admitted = asyncio.run(go())

    log = sandbox.store.request_log()
    paths = [record.path for record in log]
    assert paths[0] == "/v3/oauth/token/generate"  # the token fetch, first of all
    assert "/v3/targetGroups" in paths  # name and id resolution
    assert sum(p.endswith("/communications") for p in paths) == 2  # the two targets' reads
    assert admitted == len(log)  # each one let through the ceiling, none around it


def test_a_renewed_token_passes_the_rate_limit_too(
    repo: Path, monkeypatch: pytest.MonkeyPatch, sandbox_factory: SandboxFactory
) -> None:
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", DEMO_CLIENT_KEY)
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    (repo / "manifests" / "good.yaml").write_text(GOOD)
    server = sandbox_factory(token_ttl=1)  # renewed before the second plan's requests
    write_config(repo, server.url, auth="oauth")
    settings = select(None, None)

    async def go() -> tuple[int, int]:
        async with open_client(settings) as client:
            await make_run_plan(settings, Selection(), client, parallelism=1)
            await asyncio.sleep(1.1)
            await make_run_plan(settings, Selection(), client, parallelism=1)
            return client.limiter.admitted, client.stats.requests

    admitted, sent = asyncio.run(go())

    log = server.store.request_log()
    assert sum(r.path == "/v3/oauth/token/generate" for r in log) == 2
    assert admitted == sent == len(log)
