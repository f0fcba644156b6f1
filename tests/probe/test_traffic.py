"""The probe's traffic, over HTTP against the sandbox: the journal holds a write's keys before
it is sent and the rows it made after; a read's evidence shows the probe's rows only; under a
replacing server every array carries the target's own rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from reconciler.api.auth import BasicCredentials
from reconciler.api.endpoints import CapillaryClient
from reconciler.api.settings import ClientSettings
from reconciler.probe.evidence import element, rows_of
from reconciler.probe.failures import ProbeError
from reconciler.probe.journal import Journal, read_journal
from reconciler.probe.traffic import Prober
from reconciler.sandbox import SandboxServer
from tests.support.cli import PASSWORD, USERNAME

T = TypeVar("T")
MARKER = "reconciler probe 00c0ffee"


def _journal(target: int = 2501) -> Journal:
    return Journal(
        environment="test",
        endpoint="http://127.0.0.1",
        targetGroupId=2185,
        targetId=target,
        marker=MARKER,
        startedAt="2026-01-01T00:00:00+00:00",
    )


def _with_prober(
    server: SandboxServer, path: Path, journal: Journal, go: Callable[[Prober], Awaitable[T]]
) -> T:
    async def run() -> T:
        settings = ClientSettings(
            base_url=server.url, credentials=BasicCredentials(USERNAME, PASSWORD)
        )
        async with CapillaryClient(settings) as client:
            baseline = rows_of(
                (
                    await client.exchange(
                        "GET", "/v3/targetGroups/2185/targets/2501/communications"
                    )
                ).response_body
            )
            return await go(Prober(client, journal, path, baseline))

    return asyncio.run(run())


def test_a_write_is_journaled_before_it_is_sent_and_its_rows_after(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "journal.json"
    refused = element("FINISH", 99, f"{MARKER}: 1 x", "S")  # channel 99 does not exist
    made = element("FINISH", 1, f"{MARKER}: 2 y", "S")

    async def go(prober: Prober) -> list[int]:
        answer = await prober.write("refused", [refused])
        assert answer.status == 400
        noted = read_journal(path)
        assert noted is not None
        assert noted.keys == [("FINISH", 99)] and noted.created == []  # noqa: PT018
        await prober.must_write("create", [made])
        return list(prober.journal.created)

    created = _with_prober(sandbox, path, _journal(), go)
    assert len(created) == 1
    noted = read_journal(path)
    assert noted is not None
    assert noted.keys == [("FINISH", 99), ("FINISH", 1)]
    assert noted.created == created


def test_a_refused_step_that_must_succeed_ends_the_probe(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    async def go(prober: Prober) -> None:
        await prober.must_write("bad", [element("FINISH", 99, f"{MARKER}: 1", "S")])

    with pytest.raises(ProbeError, match=r"^step 1 \(bad\) was refused: HTTP 400: code 300004: "):
        _with_prober(sandbox, tmp_path / "j.json", _journal(), go)


def test_a_read_shows_the_probes_rows_and_no_other(sandbox: SandboxServer, tmp_path: Path) -> None:
    async def go(prober: Prober) -> list[dict[str, object]]:
        await prober.must_write("create", [element("CHANGE", 1, f"{MARKER}: 1", "S")])
        await prober.read()
        return prober.evidence

    evidence = _with_prober(sandbox, tmp_path / "j.json", _journal(), go)
    read = evidence[-1]
    assert read["note"] == "3 rows; the probe's rows shown"
    shown = read["answer"]
    assert isinstance(shown, dict)
    assert [row["messageTemplate"] for row in shown["data"]] == [f"{MARKER}: 1"]
    assert "5141" not in json.dumps(shown)


def test_a_read_of_a_missing_target_fails_with_its_status(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    async def go(prober: Prober) -> None:
        await prober.read()

    with pytest.raises(ProbeError, match=r"^step 1 \(read the target back\) failed: HTTP 404"):
        _with_prober(sandbox, tmp_path / "j.json", _journal(target=9999), go)


def test_every_array_carries_the_rows_to_restore(sandbox: SandboxServer, tmp_path: Path) -> None:
    journal = _journal()
    own = element("START", 2, "theirs", "S", id=5141)
    journal.restore = [own]

    async def go(prober: Prober) -> object:
        return (
            await prober.write("create", [element("CHANGE", 1, f"{MARKER}: 1", "S")])
        ).request_body

    body = _with_prober(sandbox, tmp_path / "j.json", journal, go)
    assert isinstance(body, list)
    assert body[1] == own
