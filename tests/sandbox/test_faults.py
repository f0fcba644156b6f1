"""Fault injection: shares, reproducibility, ambiguous writes and the further knobs (SPEC §8;
issue 3, acceptance 4); the per-path knob and the faults added for issue 10 (``path_faults``:
401, 403, a stall until the client gives up, and a committed write whose answer never comes)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import MappingProxyType

import httpx
import pytest

from reconciler.errors import UsageError
from reconciler.sandbox import Fault, FaultConfig, create_app, open_store
from reconciler.sandbox.faults import TOKEN_PATH, FaultInjector
from tests.conftest import SandboxFactory
from tests.support.sandbox import BASIC, assert_error, comms, element, upsert


def _run_requests(db: Path, faults: FaultConfig, count: int) -> list[tuple[int, str | None]]:
    """``count`` GETs through the app in process; (status, fault) of each, in order."""

    async def main() -> list[int]:
        app = create_app(db, faults=faults)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=BASIC) as c:
            return [(await c.get("/v3/targetGroups/channels")).status_code for _ in range(count)]

    statuses = asyncio.run(main())
    store = open_store(db)
    log = store.request_log()
    store.clear_request_log()
    assert [r.status for r in log] == statuses
    return [(r.status, r.fault) for r in log]


def test_fault_shares_match_the_configuration_and_repeat_with_the_seed(sandbox_db: Path) -> None:
    faults = FaultConfig(fail_rate=0.1, throttle_rate=0.1, seed=7)
    first = _run_requests(sandbox_db, faults, 2000)
    throttled = sum(1 for status, _ in first if status == 429) / 2000
    failed = sum(1 for status, _ in first if status in (500, 503)) / 2000
    assert abs(throttled - 0.1) <= 0.02
    assert abs(failed - 0.1) <= 0.02
    assert {fault for _, fault in first} == {None, "throttle", "fail_500", "fail_503_html"}
    assert all((status == 200) == (fault is None) for status, fault in first)
    # The same seed and the same requests: the very same sequence of faults.
    assert _run_requests(sandbox_db, faults, 2000) == first
    other = _run_requests(sandbox_db, FaultConfig(fail_rate=0.1, throttle_rate=0.1, seed=8), 2000)
    assert other != first


def test_draws_do_not_depend_on_what_the_requests_are() -> None:
    """Every request consumes the same draws, so a read-only prefix cannot shift later faults."""
    config = FaultConfig(fail_rate=0.3, throttle_rate=0.2, ambiguous_rate=0.5, seed=11)
    reads, mixed = FaultInjector(config), FaultInjector(config)
    a = [reads.decide(is_write=False) for _ in range(500)]
    b = [mixed.decide(is_write=i % 3 == 0) for i in range(500)]
    stop_early = {Fault.THROTTLE, Fault.FAIL_500, Fault.FAIL_503_HTML}
    assert [f if f in stop_early else None for f in a] == [
        f if f in stop_early else None for f in b
    ]


def test_an_ambiguous_500_commits_the_write(sandbox_factory) -> None:
    server = sandbox_factory(ambiguous_rate=1, ambiguous_kind="500")
    with httpx.Client(base_url=server.url, headers=BASIC) as client:
        assert_error(client.post(upsert(2163, 2319), json=[element()]), 500, 500)
        live = client.get(comms(2163, 2319)).json()["data"]
    assert [(c["communicationType"], c["channelId"]) for c in live] == [("FINISH", 1)]
    write, read = server.store.request_log()
    assert (write.status, write.committed, write.fault) == (500, True, "ambiguous_500")
    assert (read.status, read.fault) == (200, None)  # reads are never ambiguous


def test_an_ambiguous_drop_commits_the_write_and_sends_nothing(sandbox_factory) -> None:
    server = sandbox_factory(ambiguous_rate=1, ambiguous_kind="drop")
    with httpx.Client(base_url=server.url, headers=BASIC) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(upsert(2163, 2319), json=[element()])
        live = client.get(comms(2163, 2319)).json()["data"]  # the pool recovers by itself
    assert len(live) == 1
    write = server.store.request_log()[0]
    assert (write.status, write.committed, write.fault) == (0, True, "ambiguous_drop")


def test_an_ambiguous_drop_in_process_raises_the_same_error(sandbox_db: Path) -> None:
    async def main() -> None:
        app = create_app(sandbox_db, faults=FaultConfig(ambiguous_rate=1, ambiguous_kind="drop"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=BASIC) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                await c.post(upsert(2163, 2319), json=[element()])

    asyncio.run(main())
    assert len(open_store(sandbox_db).communications(2163, 2319)) == 1


def test_a_rejected_write_is_not_made_ambiguous(sandbox_factory) -> None:
    server = sandbox_factory(ambiguous_rate=1)
    response = httpx.post(f"{server.url}{upsert()}", json=[element(channelId=9)], headers=BASIC)
    assert_error(response, 400, 300004)
    record = server.store.request_log()[0]
    assert (record.committed, record.fault) == (False, None)


def test_failures_look_like_the_api_or_like_its_cdn(sandbox_factory) -> None:
    envelope = sandbox_factory(fail_rate=1, fail_kind="500")
    assert_error(httpx.get(f"{envelope.url}{comms()}", headers=BASIC), 500, 500)
    cdn = sandbox_factory(fail_rate=1, fail_kind="503")
    response = httpx.get(f"{cdn.url}{comms()}", headers=BASIC)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text
    assert cdn.store.request_log()[-1].fault == "fail_503_html"


def test_throttling_says_when_to_retry(sandbox_factory) -> None:
    server = sandbox_factory(throttle_rate=1)
    response = httpx.post(f"{server.url}{upsert()}", json=[element()], headers=BASIC)
    assert_error(response, 429, 429)
    assert response.headers["retry-after"] == "1"
    assert server.store.request_log()[0].committed is False
    assert len(server.store.communications(2163, 2317)) == 3  # a throttled write never happens


def test_latency_is_added_to_every_request(sandbox_factory) -> None:
    server = sandbox_factory(latency_ms=150)
    started = time.monotonic()
    assert httpx.get(f"{server.url}/v3/targetGroups/channels", headers=BASIC).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_truncated_and_html_answers(sandbox_factory) -> None:
    truncated = sandbox_factory(truncate_rate=1)
    response = httpx.get(f"{truncated.url}{comms()}", headers=BASIC)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    html = sandbox_factory(html_rate=1)
    response = httpx.get(f"{html.url}{comms()}", headers=BASIC)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_read_lag_hides_young_writes(sandbox_factory) -> None:
    server = sandbox_factory(read_lag_ms=300)
    with httpx.Client(base_url=server.url, headers=BASIC) as client:
        client.post(upsert(2163, 2319), json=[element()])
        client.post(upsert(2163, 2317), json=[element(id=5102, communicationType="REMINDER")])
        assert client.get(comms(2163, 2319)).json()["data"] == []
        stale = next(c for c in client.get(comms()).json()["data"] if c["id"] == 5102)
        assert stale["communicationType"] == "REMINDER"
        assert stale["messageTemplate"].startswith("{{first_name}}, 3 days left")  # the old one
        time.sleep(0.35)
        assert len(client.get(comms(2163, 2319)).json()["data"]) == 1
        fresh = next(c for c in client.get(comms()).json()["data"] if c["id"] == 5102)
        assert fresh["messageTemplate"] == element()["messageTemplate"]


def test_the_rate_limit_is_per_credential(sandbox_factory) -> None:
    server = sandbox_factory(rate_limit_per_minute=3)
    statuses = [httpx.get(f"{server.url}{comms()}", headers=BASIC) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert 1 <= int(statuses[-1].headers["retry-after"]) <= 20
    assert server.store.request_log()[-1].fault == "rate_limited"
    token = httpx.post(
        f"{server.url}{TOKEN_PATH}", json={"key": "demo-key", "secret": "demo-secret"}
    ).json()["data"]["accessToken"]
    other = httpx.get(f"{server.url}{comms()}", headers={"X-CAP-API-OAUTH-TOKEN": token})
    assert other.status_code == 200


def test_a_scripted_fault_hits_the_nth_write(sandbox_factory) -> None:
    script = MappingProxyType({2: Fault.AMBIGUOUS_500})
    server = sandbox_factory(write_script=script)
    with httpx.Client(base_url=server.url, headers=BASIC) as client:
        client.get(comms())
        assert client.post(upsert(2163, 2319), json=[element()]).status_code == 200
        assert client.post(upsert(2163, 2319), json=[element()]).status_code == 500
        assert client.post(upsert(2163, 2319), json=[element()]).status_code == 200
    assert [r.fault for r in server.store.request_log()] == [None, None, "ambiguous_500", None]


def test_exempt_paths_get_no_faults(sandbox_factory) -> None:
    server = sandbox_factory(fail_rate=1, fail_kind="500", exempt_paths=frozenset({TOKEN_PATH}))
    response = httpx.post(
        f"{server.url}{TOKEN_PATH}", json={"key": "demo-key", "secret": "demo-secret"}
    )
    assert response.status_code == 200
    assert httpx.get(f"{server.url}{comms()}", headers=BASIC).status_code == 500


@pytest.mark.parametrize(
    "settings",
    [
        {"fail_rate": 1.5},
        {"throttle_rate": -0.1},
        {"fail_rate": 0.6, "throttle_rate": 0.5},
        {"latency_ms": -1},
    ],
)
def test_impossible_settings_are_usage_errors(settings: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        FaultConfig(**settings)  # type: ignore[arg-type]


# --- per-path faults (issue 10) -------------------------------------------------------------


def test_a_path_fault_hits_every_request_to_that_path_and_no_other(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(
        path_faults={comms(2163, 2318): Fault.UNAUTHORIZED, upsert(): Fault.FORBIDDEN}
    )
    with httpx.Client(base_url=server.url, headers=BASIC, timeout=10) as http:
        assert [http.get(comms(2163, 2318)).status_code for _ in range(3)] == [401, 401, 401]
        assert http.get(comms(2163, 2317)).status_code == 200
        assert http.post(upsert(), json=[element()]).status_code == 403
    log = server.store.request_log()
    assert [r.fault for r in log] == ["unauthorized"] * 3 + [None, "forbidden"]
    assert not any(r.committed for r in log)


def test_path_faults_consume_the_same_draws() -> None:
    """Forcing one path's fault does not shift the seeded faults of the other requests."""
    seeded = FaultConfig(fail_rate=0.3, seed=5)
    forced = FaultConfig(fail_rate=0.3, seed=5, path_faults={"/a": Fault.STALL})
    plain, with_path = FaultInjector(seeded), FaultInjector(forced)
    paths = ["/a", "/b", "/c"] * 50
    a = [plain.decide(is_write=False, path=p) for p in paths]
    b = [with_path.decide(is_write=False, path=p) for p in paths]
    assert [f for f, p in zip(b, paths, strict=True) if p == "/a"] == [Fault.STALL] * 50
    assert [f for f, p in zip(a, paths, strict=True) if p != "/a"] == [
        f for f, p in zip(b, paths, strict=True) if p != "/a"
    ]


@pytest.mark.parametrize(
    ("fault", "committed"), [(Fault.STALL, False), (Fault.AMBIGUOUS_STALL, True)]
)
def test_a_stall_answers_nothing_until_the_client_times_out(
    sandbox_factory: SandboxFactory, fault: Fault, committed: bool
) -> None:
    server = sandbox_factory(path_faults={upsert(2163, 2319): fault})
    before = len(server.store.communications(2163, 2319))
    started = time.monotonic()
    with (
        httpx.Client(base_url=server.url, headers=BASIC, timeout=0.3) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.post(upsert(2163, 2319), json=[element()])
    assert time.monotonic() - started >= 0.3
    (record,) = server.store.request_log()
    assert (record.status, record.fault, record.committed) == (0, fault.value, committed)
    assert len(server.store.communications(2163, 2319)) == before + committed
