"""Pure parts of name resolution: the index and the all-or-nothing gather (issue 9)."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.resolve import Index, Named, all_or_nothing, find


def test_pick_by_id_and_by_exact_name() -> None:
    index = Index([Named(1, "EMAIL"), Named(2, "SMS"), Named(3, "SMS"), Named(1, "again")])
    assert find(1, index, "channel") == (Named(1, "EMAIL"), None)  # the first of an id
    assert find("EMAIL", index, "channel") == (Named(1, "EMAIL"), None)
    found, reason = find("SMS", index, "channel")
    assert found is None
    assert reason == "channel name 'SMS' matches 2 objects (ids 2, 3); use the id"
    assert find(9, index, "channel", "group 4") == (None, "channel 9 does not exist in group 4")
    assert find("emial", index, "channel")[1] == "channel 'emial' does not exist"
    assert find("EMAL", index, "channel")[1] == (
        "channel 'EMAL' does not exist; did you mean 'EMAIL'?"
    )


def test_all_or_nothing_returns_results_in_order() -> None:
    async def value(v: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return v

    async def go() -> list[int]:
        return await all_or_nothing(value(1, 0.02), value(2, 0.0), value(3, 0.01))

    assert asyncio.run(go()) == [1, 2, 3]
    assert asyncio.run(all_or_nothing()) == []


def test_all_or_nothing_cancels_the_rest_on_the_first_failure() -> None:
    finished: list[str] = []

    async def slow() -> str:
        await asyncio.sleep(5)
        finished.append("slow")
        return "slow"

    async def fails() -> str:
        await asyncio.sleep(0)
        raise LookupError("first failure")

    async def go() -> None:
        slow_task = asyncio.ensure_future(slow())
        with pytest.raises(LookupError, match="first failure"):
            await all_or_nothing(slow_task, fails())
        assert slow_task.cancelled()

    asyncio.run(go())
    assert finished == []


def test_all_or_nothing_leaves_a_shielded_shared_task_running() -> None:
    """Resolver batches share target-list tasks: one batch's failure must not cancel them
    under another batch (which would then end in CancelledError, not in the real error)."""

    async def shared_list() -> str:
        await asyncio.sleep(0.02)
        return "targets"

    async def fails() -> str:
        raise LookupError("refused")

    async def go() -> str:
        shared = asyncio.ensure_future(shared_list())
        with pytest.raises(LookupError):
            await all_or_nothing(fails(), asyncio.shield(shared))
        return await shared  # still there for the other batch

    assert asyncio.run(go()) == "targets"
