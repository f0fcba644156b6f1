"""The per-path fault knob and the faults added for issue 10 (``path_faults``: 401, 403, a stall
until the client gives up, and a committed write whose answer never comes)."""

from __future__ import annotations

import time

import httpx
import pytest
from sandbox_helpers import BASIC, comms, element, upsert

from reconciler.sandbox import Fault, FaultConfig
from reconciler.sandbox.faults import FaultInjector
from tests.conftest import SandboxFactory


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
