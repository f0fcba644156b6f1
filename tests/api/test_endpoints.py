"""Issue 4 acceptance over real HTTP against the sandbox (SPEC §8): endpoints with both kinds
of credentials, token renewal, retries under faults matched with the sandbox's request log,
ambiguous writes, permissions and the circuit breaker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.api import (
    BasicCredentials,
    CapillaryClient,
    CircuitOpenError,
    ClientSettings,
    OAuthCredentials,
)
from reconciler.api.wire import Communication, CommunicationWrite
from reconciler.errors import (
    AmbiguousWriteError,
    ApiValidationError,
    AuthError,
    NotFoundError,
    PermissionDenied,
    ServerError,
)
from reconciler.sandbox import IN_PROCESS_URL, SandboxServer, in_process_transport
from reconciler.sandbox.auth import READONLY_PASSWORD, READONLY_USERNAME
from tests.support.client import settings

pytestmark = pytest.mark.anyio

BASIC = BasicCredentials("demo", "demo-password")
OAUTH = OAuthCredentials("demo-key", "demo-secret")
TOKEN_PATH = "/v3/oauth/token/generate"
SandboxFactory = Callable[..., SandboxServer]


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def on(
    server: SandboxServer, creds: BasicCredentials | OAuthCredentials, **kw: object
) -> ClientSettings:
    return settings(server.url, creds, **kw)


async def first_target(client: CapillaryClient) -> tuple[int, int]:
    for group in await client.list_target_groups():
        targets = await client.list_targets(group.id)
        if targets:
            return group.id, targets[0].id
    raise AssertionError("the demo programme has targets")


async def all_targets(client: CapillaryClient) -> list[tuple[int, int]]:
    pairs = []
    for group in await client.list_target_groups():
        pairs += [(group.id, t.id) for t in await client.list_targets(group.id)]
    return pairs


def new_write(channel_id: int, comms: list[Communication]) -> CommunicationWrite:
    """A write for a key the target does not have yet (so it inserts)."""
    taken = {(c.communicationType, c.channelId) for c in comms}
    kind = next(
        t for t in ("START", "FINISH", "CHANGE", "REMINDER") if (t, channel_id) not in taken
    )
    return CommunicationWrite(
        active=True,
        channelId=channel_id,
        communicationType=kind,
        messageTemplate="Hi {{first_name}}",
        offsetDays=0,
        sender="loyalty@example.com",
        subjectTemplate="subject",
    )


@pytest.mark.parametrize("creds", [BASIC, OAUTH], ids=["basic", "oauth"])
async def test_every_endpoint_works_over_http(
    sandbox: SandboxServer, creds: BasicCredentials | OAuthCredentials
) -> None:
    async with CapillaryClient(on(sandbox, creds)) as client:
        groups = await client.list_target_groups()
        assert groups
        group = await client.get_target_group(groups[0].id)
        assert group.id == groups[0].id
        group_id, target_id = await first_target(client)
        channels = await client.list_channels()
        assert {"SMS", "EMAIL"} <= {c.name for c in channels}
        live = await client.get_communications(group_id, target_id)
        email = next(c.id for c in channels if c.name == "EMAIL")
        [created] = await client.upsert_communications(
            group_id, target_id, [new_write(email, live)]
        )
        assert created.id not in {c.id for c in live}
        assert (created.targetId, created.targetGroupId) == (target_id, group_id)
        assert created.attribution is not None
        assert created.attribution.createdOn is not None
        update = CommunicationWrite(**{**new_write(email, live).model_dump(), "id": created.id})
        update = update.model_copy(update={"messageTemplate": "changed"})
        [updated] = await client.upsert_communications(group_id, target_id, [update])
        assert (updated.id, updated.messageTemplate) == (created.id, "changed")
        after = await client.get_communications(group_id, target_id)
        assert len(after) == len(live) + 1
    log = sandbox.store.request_log()
    assert all(r.status == 200 for r in log)
    assert len(log) == client.stats.requests
    assert client.stats.retries_total == 0
    assert sum(r.path == TOKEN_PATH for r in log) == (1 if creds is OAUTH else 0)


async def test_sandbox_errors_map_to_typed_errors(sandbox: SandboxServer) -> None:
    async with CapillaryClient(on(sandbox, BASIC)) as client:
        with pytest.raises(NotFoundError, match="HTTP 404"):
            await client.get_target_group(987654)
        group_id, target_id = await first_target(client)
        bad = new_write(1, []).model_copy(update={"channelId": 99999})
        with pytest.raises(ApiValidationError, match="HTTP 400: code"):
            await client.upsert_communications(group_id, target_id, [bad])
    assert client.stats.retries_total == 0


async def test_a_token_with_a_2s_ttl_is_renewed_without_a_failed_request(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(token_ttl=2)
    async with CapillaryClient(on(server, OAUTH)) as client:
        group_id, target_id = await first_target(client)
        deadline = time.monotonic() + 5.0
        calls = 0
        while time.monotonic() < deadline:
            await client.get_communications(group_id, target_id)
            calls += 1
            await asyncio.sleep(0.05)
    log = server.store.request_log()
    assert [r for r in log if r.status != 200] == []  # not a single 401
    assert client.stats.token_renewals_on_401 == 0
    assert client.stats.token_requests >= 3  # renewed at 1.6 s: 5 s needs at least 3 tokens
    assert sum(r.path == TOKEN_PATH for r in log) == client.stats.token_requests
    assert calls > 20


async def test_500_reads_succeed_under_throttling_and_failures_and_the_log_agrees(
    sandbox_factory: SandboxFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Acceptance 2. With 30 % throttles and 20 % failures half of all attempts fail, so
    P(5 failures in a row) = 3 % and about 15 of 500 reads would exhaust 5 attempts whatever
    the client did; the test therefore allows 20 attempts (P(any read fails) ~ 5e-4) and checks
    that every retry is accounted for, attempt by attempt, against the sandbox's own log.
    """
    server = sandbox_factory(throttle_rate=0.3, fail_rate=0.2, seed=7)
    caplog.set_level(logging.DEBUG, logger="reconciler.api")
    async with CapillaryClient(
        on(server, BASIC, max_attempts=20, parallelism=8), sleep=_no_wait
    ) as client:
        pairs = await all_targets(client)
        server.store.clear_request_log()
        before = client.stats.requests
        client.stats.retries.clear()
        caplog.clear()
        results = await asyncio.gather(
            *(client.get_communications(*pairs[n % len(pairs)]) for n in range(500))
        )
    assert len(results) == 500
    log = server.store.request_log()
    stats = client.stats
    faults = Counter(r.fault for r in log)
    assert len(log) == stats.requests - before  # every request the client sent, and no other
    assert stats.retries["429"] == faults["throttle"]
    assert (
        stats.retries["500"] + stats.retries["503"] == faults["fail_500"] + faults["fail_503_html"]
    )
    assert stats.retries_total == sum(r.status != 200 for r in log)
    assert faults["throttle"] > 100  # the faults really happened
    # The DEBUG log tells the same story, line by line.
    lines = [r.getMessage() for r in caplog.records]
    assert sum("retrying in" in line for line in lines) == stats.retries_total
    wire = [line for line in lines if "/communications -> " in line]
    assert len(wire) == len(log)


@pytest.mark.parametrize("kind", ["500", "drop"])
async def test_an_ambiguous_upsert_raises_after_exactly_one_attempt(
    sandbox_factory: SandboxFactory, kind: str
) -> None:
    server = sandbox_factory(ambiguous_rate=1.0, ambiguous_kind=kind)
    async with CapillaryClient(on(server, OAUTH)) as client:
        group_id, target_id = await first_target(client)
        live = await client.get_communications(group_id, target_id)
        with pytest.raises(AmbiguousWriteError, match="may or may not have been committed"):
            await client.upsert_communications(group_id, target_id, [new_write(2, live)])
    writes = [r for r in server.store.request_log() if r.path.endswith("/upsert")]
    assert len(writes) == 1
    assert writes[0].committed  # it did commit: resending would have created a duplicate
    assert client.stats.writes == 1


async def test_403_on_a_write_is_permission_denied_without_retry(
    sandbox: SandboxServer,
) -> None:
    readonly = BasicCredentials(READONLY_USERNAME, READONLY_PASSWORD)
    async with CapillaryClient(on(sandbox, readonly)) as client:
        group_id, target_id = await first_target(client)
        with pytest.raises(PermissionDenied, match="HTTP 403"):
            await client.upsert_communications(group_id, target_id, [new_write(2, [])])
        with pytest.raises(PermissionDenied, match="not sent"):
            await client.list_channels()
    assert sum(r.status == 403 for r in sandbox.store.request_log()) == 1


async def test_wrong_credentials_are_an_auth_error_without_retry(sandbox: SandboxServer) -> None:
    for creds in (
        BasicCredentials("demo", "wrong-password"),
        OAuthCredentials("demo-key", "wrong-secret"),
    ):
        async with CapillaryClient(on(sandbox, creds)) as client:
            with pytest.raises(AuthError):
                await client.list_channels()
    assert len(sandbox.store.request_log()) == 2  # one request each, no retries


async def test_a_persistent_503_gives_up_after_5_attempts(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(fail_rate=1.0, fail_kind="503")
    async with CapillaryClient(on(server, BASIC), sleep=_no_wait) as client:
        with pytest.raises(ServerError, match="gave up after 5 attempts: HTTP 503 with an HTML"):
            await client.list_channels()
    assert len(server.store.request_log()) == 5


async def test_a_full_outage_across_50_targets_stops_early(
    sandbox_db: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory(fail_rate=1.0, fail_kind="500")
    async with CapillaryClient(on(server, BASIC, parallelism=8), sleep=_no_wait) as client:
        results = await asyncio.gather(
            *(client.get_communications(1, n) for n in range(50)), return_exceptions=True
        )
    assert all(isinstance(r, ServerError) for r in results)
    assert any(isinstance(r, CircuitOpenError) for r in results)
    sent = len(server.store.request_log())
    assert sent <= client.settings.effective_breaker_threshold + client.settings.parallelism
    assert sent < 50  # not even one request per target, let alone 50 x 5


async def test_the_in_process_transport_works_with_the_client(sandbox_db: Path) -> None:
    transport = in_process_transport(sandbox_db)
    async with CapillaryClient(settings(IN_PROCESS_URL, OAUTH), transport=transport) as client:
        assert await client.list_channels()
