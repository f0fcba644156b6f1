"""The pipeline reports the first failure of its tasks, its cause, not a later echo (issue 9)."""

from __future__ import annotations

import asyncio
import gc
import warnings

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


def test_a_failure_in_the_step_after_the_last_other_task_ended_is_still_raised() -> None:
    """The flaky 401 (issue 10 case 3): the waiter learns that the last good task ended and is
    woken; in the very next step, before the waiter runs, the other task fails. The waiter then
    finds both tasks done, and the failure must already be known: a failure that only a done
    callback records arrives a step too late, and the run ended as if nothing had failed."""

    async def go() -> None:
        failures = _Failures()
        gate = asyncio.Event()

        async def read_answered_401() -> None:  # held until the other read has ended
            await gate.wait()
            raise PermissionError("401 on a read")

        async def last_good_read() -> None:
            await asyncio.sleep(0)
            # Opens the gate one step after this task's end is reported: the failing task is
            # then woken before the waiter, and the waiter sees it done.
            asyncio.get_running_loop().call_soon(gate.set)

        tasks = [failures.watch(read_answered_401()), failures.watch(last_good_read())]
        with pytest.raises(PermissionError, match="401 on a read"):
            await failures.wait(tasks)
        assert isinstance(failures.first, PermissionError)
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(go())


def test_a_task_cancelled_before_it_started_is_no_failure_and_leaves_no_warning() -> None:
    """A run that fails before its workers first ran cancels them unstarted: their coroutines
    are closed, so Python prints no "coroutine ... was never awaited" on stderr."""

    async def go() -> None:
        failures = _Failures()

        async def worker() -> None:
            await asyncio.sleep(60)

        task = failures.watch(worker())
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        assert failures.first is None

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(go())
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
