"""The applier over real HTTP: consistency check of upsert answers, and remaining writes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from reconciler.api import BasicCredentials, CapillaryClient, ClientSettings
from reconciler.applier.execute import Applier
from reconciler.config import select
from reconciler.live import Selection, make_run_plan
from tests.e2e.conftest import ROOT, write_config


class CorruptingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, except that the first element of every upsert is rewritten on its way, so the
    API stores (and answers, and shows on a re-read) another message than the one sent.

    Issue 14 item 5: before, this transport altered only the *answer*, and that alone failed the
    target. Now an answer that differs is judged by a re-read; only a difference the re-read
    confirms is an error, so the server side of the corruption is what this test needs."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/upsert"):
            body = json.loads(request.read())
            body[0]["messageTemplate"] += " (rewritten by the server)"
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request(
                "POST", request.url, headers=headers, content=json.dumps(body).encode()
            )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_an_upsert_answer_that_differs_from_what_was_sent_fails_the_target(
    sandbox: object, tmp_path: Path, monkeypatch: object
) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    write_config(repo, sandbox.url)  # type: ignore[attr-defined]
    settings = select(repo / "reconciler.yaml", environ={})

    async def run() -> list[str]:
        client = CapillaryClient(
            ClientSettings(
                base_url=sandbox.url,  # type: ignore[attr-defined]
                credentials=BasicCredentials("demo", "demo-password"),
            ),
            transport=CorruptingTransport(),
        )
        async with client:
            planned = await make_run_plan(
                settings, Selection(paths=(str(repo / "manifests"),)), client, parallelism=4
            )
            result = await Applier(client).apply(planned)
        assert not result.ok
        return [f"{o.status}: {o.message}" for o in result.outcomes]

    outcomes = asyncio.run(run())
    assert len(outcomes) == 5  # 2402's declared duplicate is deactivated too (issue 14 item 7)
    assert all(line.startswith("failed: API returned an inconsistent result") for line in outcomes)
    assert all("messageTemplate differ from what was sent" in line for line in outcomes)
    assert all("(confirmed by a re-read)" in line for line in outcomes)


def _live(id_: int, type_: str, channel: int, message: str, active: bool = True) -> object:
    from reconciler.api.wire import Communication

    return Communication(
        id=id_,
        communicationType=type_,
        channelId=channel,
        sender="S",
        subjectTemplate="",
        messageTemplate=message,
        offsetDays=0,
        active=active,
    )


def _plan(live: list[object], desired_messages: dict[tuple[str, int], str]) -> object:
    from datetime import UTC, datetime

    from reconciler.desired import DesiredCommunication, DesiredTarget, Source
    from reconciler.planner import make_plan

    desired = DesiredTarget(
        name="t",
        targetGroupId=1,
        targetId=2,
        prune=True,
        communications=tuple(
            DesiredCommunication(t, c, "S", "", m, 0, True)
            for (t, c), m in desired_messages.items()
        ),
        source=Source("m.yaml"),
    )
    plan = make_plan([desired], {(1, 2): live}, "test", datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[dict-item]
    return plan.targets[0]


def test_recovery_sends_nothing_when_the_ambiguous_write_landed() -> None:
    from reconciler.applier.execute import remaining_writes

    target = _plan([_live(1, "START", 2, "old")], {("START", 2): "new", ("FINISH", 2): "bye"})
    after = [_live(1, "START", 2, "new"), _live(7, "FINISH", 2, "bye")]
    assert remaining_writes(target, after) == ([], [])  # type: ignore[arg-type]


def test_recovery_never_resends_a_create_directly() -> None:
    """A create not visible yet is returned apart, to be confirmed after the settle delay."""
    from reconciler.applier.execute import remaining_writes

    target = _plan([], {("FINISH", 2): "bye"})
    writes, creates = remaining_writes(target, [])  # type: ignore[arg-type]
    assert writes == []
    assert [c.key.communicationType for c in creates] == ["FINISH"]


def test_recovery_fixes_a_landed_create_by_id_instead_of_inserting_again() -> None:
    from reconciler.applier.execute import remaining_writes

    target = _plan([], {("FINISH", 2): "bye"})
    writes, creates = remaining_writes(target, [_live(9, "FINISH", 2, "other")])  # type: ignore[arg-type]
    assert creates == []
    assert [(w.id, w.messageTemplate) for w in writes] == [(9, "bye")]


def test_recovery_resends_only_updates_that_did_not_land() -> None:
    from reconciler.applier.execute import remaining_writes

    live = [_live(1, "START", 2, "old"), _live(2, "FINISH", 2, "old")]
    target = _plan(live, {("START", 2): "new", ("FINISH", 2): "new"})
    after = [_live(1, "START", 2, "new"), _live(2, "FINISH", 2, "old")]
    writes, creates = remaining_writes(target, after)  # type: ignore[arg-type]
    assert creates == []
    assert [(w.id, w.messageTemplate) for w in writes] == [(2, "new")]


def _write(type_: str, channel: int, message: str, id_: int | None = None) -> object:
    from reconciler.api.wire import CommunicationWrite

    return CommunicationWrite(
        id=id_,
        active=True,
        channelId=channel,
        communicationType=type_,
        messageTemplate=message,
        offsetDays=0,
        sender="S",
        subjectTemplate="",
    )


def test_check_answer_matches_by_id_and_key_and_names_what_proves_an_inconsistency() -> None:
    """Issue 14 items 4 and 5: the pure half of the post-write check."""
    from reconciler.applier.execute import check_answer

    sent = [_write("START", 2, "new", 1), _write("FINISH", 2, "bye")]
    known = {1: ("START", 2), 3: ("CHANGE", 1)}
    unsent = _live(3, "CHANGE", 1, "kept")
    good = [unsent, _live(9, "FINISH", 2, "bye"), _live(1, "START", 2, "new")]
    check = check_answer(sent, good, ref=(1, 2), known=known)  # type: ignore[arg-type]
    assert (check.problem, check.doubts) == (None, [])
    assert {i: r.id for i, r in check.rows.items()} == {0: 1, 1: 9}

    twice = [*good, _live(1, "START", 2, "other")]
    assert "id 1 twice" in str(check_answer(sent, twice, ref=(1, 2), known=known).problem)  # type: ignore[arg-type]
    two_new = [*good, _live(10, "FINISH", 2, "bye")]
    problem = check_answer(sent, two_new, ref=(1, 2), known=known).problem  # type: ignore[arg-type]
    assert "answered with 2 new communications (ids 9, 10)" in str(problem)
    moved = [_live(1, "START", 2, "new"), _live(3, "FINISH", 2, "bye")]
    problem = check_answer(sent, moved, ref=(1, 2), known=known).problem  # type: ignore[arg-type]
    assert "the create of FINISH on channelId 2 was answered with id 3" in str(problem)
    foreign = [good[0].model_copy(update={"targetId": 7}), *good[1:]]
    problem = check_answer(sent, foreign, ref=(1, 2), known=known).problem  # type: ignore[arg-type]
    assert "belongs to target group ?, target 7" in str(problem)
    missing = check_answer(sent, good[:2], ref=(1, 2), known=known)  # type: ignore[arg-type]
    assert (missing.problem, missing.doubts) == (None, ["the answer has no row with id 1"])
