"""Group commit (`servicekit.grouped.Group`, the inbox's and every grouped store call's): who
goes at once, who lingers, who shares a batch."""

from __future__ import annotations

import asyncio

import pytest

from servicekit.grouped import Group

LONG_LINGER = 60.0
"""Far longer than any bounded wait below: a call that lingered would fail its test."""

BOUND = 10.0


class Recorder:
    """A batch runner that records each batch and can hold one at the store."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def run(self, items: list[int]) -> list[int | Exception]:
        """Record the batch, wait at the gate, answer each item with its double."""
        self.batches.append(items)
        self.started.set()
        await self.gate.wait()
        return [ValueError("odd one") if item == 13 else 2 * item for item in items]


async def test_a_call_that_finds_the_group_idle_goes_at_once_despite_a_linger() -> None:
    """A lone call is not held back by the linger: it returns well within the bound."""
    recorder = Recorder()
    group: Group[int, int] = Group(recorder.run, 8, linger=LONG_LINGER)
    async with asyncio.timeout(BOUND):
        assert await group.call(3) == 6
    assert recorder.batches == [[3]]


async def test_calls_made_while_a_batch_is_in_flight_go_together_in_the_next() -> None:
    """Calls arriving while the store is busy share one later batch (no linger)."""
    recorder = Recorder()
    recorder.gate.clear()
    group: Group[int, int] = Group(recorder.run, 8)
    first = asyncio.create_task(group.call(1))
    await recorder.started.wait()
    later = [asyncio.create_task(group.call(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    recorder.gate.set()
    async with asyncio.timeout(BOUND):
        results = await asyncio.gather(first, *later)
    assert results == [2, 4, 6, 8]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_a_full_batch_does_not_wait_for_the_linger() -> None:
    """Once `limit` calls wait, the lingering batch goes at once with exactly those."""
    recorder = Recorder()
    recorder.gate.clear()
    group: Group[int, int] = Group(recorder.run, 3, linger=LONG_LINGER)
    first = asyncio.create_task(group.call(1))
    await recorder.started.wait()
    second = asyncio.create_task(group.call(2))
    await asyncio.sleep(0)
    recorder.gate.set()
    await first
    more = [asyncio.create_task(group.call(n)) for n in (3, 4)]
    async with asyncio.timeout(BOUND):
        results = await asyncio.gather(second, *more)
    assert results == [4, 6, 8]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_a_lingering_batch_takes_the_calls_that_arrive_meanwhile() -> None:
    """A batch after the first waits for its linger and carries what came in that time."""
    recorder = Recorder()
    recorder.gate.clear()
    group: Group[int, int] = Group(recorder.run, 100, linger=1.0)
    first = asyncio.create_task(group.call(1))
    await recorder.started.wait()
    second = asyncio.create_task(group.call(2))
    await asyncio.sleep(0)
    recorder.gate.set()
    await first
    third = asyncio.create_task(group.call(3))
    async with asyncio.timeout(BOUND):
        assert list(await asyncio.gather(second, third)) == [4, 6]
    assert recorder.batches == [[1], [2, 3]]


async def test_each_caller_gets_its_own_failure_and_the_others_their_results() -> None:
    """A failed item fails only its own caller; the rest of its batch succeeds."""
    recorder = Recorder()
    recorder.gate.clear()
    group: Group[int, int] = Group(recorder.run, 8, linger=0.001)
    first = asyncio.create_task(group.call(1))
    await recorder.started.wait()
    odd = asyncio.create_task(group.call(13))
    even = asyncio.create_task(group.call(5))
    await asyncio.sleep(0)
    recorder.gate.set()
    async with asyncio.timeout(BOUND):
        assert await first == 2
        assert await even == 10
        with pytest.raises(ValueError, match="odd one"):
            await odd
