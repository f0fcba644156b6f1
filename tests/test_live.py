"""The pipeline reports the first failure of its tasks, its cause, not a later echo (issue 9)."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.live import _Failures


def test_the_first_failure_is_raised_even_while_waiting_on_other_tasks() -> None:
    async def go() -> None:
        failures = _Failures()

        async def worker() -> None:  # fails first, like a read answered 403
            await asyncio.sleep(0.01)
            raise PermissionError("403 on a read")

        async def batch() -> None:  # fails later, with an echo of the first failure
            await asyncio.sleep(0.05)
            raise RuntimeError("not sent: the run stopped after an earlier error")

        workers = [failures.watch(worker())]
        batches = [failures.watch(batch())]
        with pytest.raises(PermissionError, match="403 on a read"):
            await failures.wait(batches, also=workers)
        for task in batches:
            task.cancel()
        await asyncio.gather(*batches, return_exceptions=True)

    asyncio.run(go())


def test_waiting_ends_when_the_awaited_tasks_finish_and_cancellations_are_no_failure() -> None:
    async def go() -> None:
        failures = _Failures()

        async def quick() -> None:
            await asyncio.sleep(0)

        async def forever() -> None:
            await asyncio.sleep(60)

        batches = [failures.watch(quick()), failures.watch(quick())]
        idle = failures.watch(forever())  # a worker waiting for its queue: not awaited
        await asyncio.wait_for(failures.wait(batches, also=[idle]), timeout=5)
        idle.cancel()
        await asyncio.gather(idle, return_exceptions=True)
        assert failures.first is None

    asyncio.run(go())
