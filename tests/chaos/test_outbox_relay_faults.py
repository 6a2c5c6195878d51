"""The outbox relay outlives a store that fails under it (found by the store-kill scenario:
a failed backlog count ended the relay task, and the process never published again)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from pymongo.errors import AutoReconnect

from servicekit.outbox import OutboxRelay
from support.waiting import eventually


class _NoDocuments:
    """An empty cursor."""

    def limit(self, _count: int) -> _NoDocuments:
        return self

    def __aiter__(self) -> _NoDocuments:
        return self

    async def __anext__(self) -> dict[str, Any]:
        raise StopAsyncIteration


class _FlakyCollection:
    """A collection whose first count fails as a restarting store server's would."""

    def __init__(self) -> None:
        self.counts = 0

    def find(self, *_args: Any) -> _NoDocuments:
        return _NoDocuments()

    async def count_documents(self, _filter: dict[str, Any]) -> int:
        self.counts += 1
        if self.counts == 1:
            raise AutoReconnect("127.0.0.1:27017: connection pool paused")
        return 0


async def test_relay_keeps_running_after_its_backlog_count_fails() -> None:
    """A backlog count that fails is logged like any relay failure; the relay carries on and
    counts (and publishes) again."""
    collection = _FlakyCollection()
    db: Any = {"things": collection}
    bus: Any = SimpleNamespace(service="chaos")
    relay = OutboxRelay(db=db, collections=["things"], bus=bus, poll_seconds=0.01)
    relay._backlog_due = 0.0
    running = asyncio.ensure_future(relay.run())
    try:

        async def counted_again() -> bool:
            assert not running.done(), f"the relay stopped: {running.exception()!r}"
            if collection.counts == 1:
                relay._backlog_due = 0.0  # the next pass counts again at once
            return collection.counts >= 2

        await eventually(counted_again, timeout=5, what="the relay counting again")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
