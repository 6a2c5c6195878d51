"""The outbox: messages written in the same document as the change that produced them.

A state change and the messages it causes are one single-document write: the messages go in
the document's `_outbox` array and `_outbox_pending` is set. The relay publishes them with
confirms, then pulls them out. A crash anywhere loses nothing: unpublished messages stay in
their documents, and a message published twice is deduplicated by the consumers' inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from typing import Any

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from servicekit.bus import Bus
from servicekit.messages import Outgoing
from servicekit.metrics import OUTBOX_BACKLOG

OUTBOX = "_outbox"
PENDING = "_outbox_pending"
"""1 while the document holds unpublished messages, else 0 (an int: see decision 0002)."""

log = structlog.get_logger("servicekit.outbox")

BACKLOG_EVERY_SECONDS = 30.0
"""How often an idle relay refreshes the backlog gauge."""


def with_outbox(document: dict[str, Any], *messages: Outgoing) -> dict[str, Any]:
    """A new document carrying `messages` in its outbox (for insert_one).

    Every document that may later take messages must be created through this, even with
    none: appending needs the array to exist.
    """
    return {**document, OUTBOX: [m.to_document() for m in messages], PENDING: int(bool(messages))}


def add_outbox(update: dict[str, Any], *messages: Outgoing) -> dict[str, Any]:
    """An update that also appends `messages` to the document's outbox.

    `$addToSet` rather than `$push`: both servers append subdocuments correctly only this way,
    and each message has a unique id, so the set is an append.
    """
    merged = {operator: dict(fields) for operator, fields in update.items()}
    merged.setdefault("$addToSet", {})[OUTBOX] = {"$each": [m.to_document() for m in messages]}
    merged.setdefault("$set", {})[PENDING] = 1
    return merged


class OutboxRelay:
    """Publishes pending outbox messages of the given collections, then removes them."""

    def __init__(
        self,
        *,
        db: AsyncDatabase[dict[str, Any]],
        collections: Iterable[str],
        bus: Bus,
        poll_seconds: float,
        batch: int = 100,
    ) -> None:
        self.db = db
        self.collections = list(collections)
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._backlog_due = 0.0

    async def create_indexes(self) -> None:
        """Index the pending flag so the relay never scans."""
        for name in self.collections:
            await self.db[name].create_index(PENDING)

    def kick(self) -> None:
        """Publish soon: something was just written to an outbox."""
        self._wake.set()

    async def run(self) -> None:
        """Relay forever: after every kick, and every `poll_seconds` in case a kick was missed."""
        failures = 0
        while True:
            backoff = self.poll_seconds * 2 ** min(failures, 5)
            # Not wait_for: on Python 3.11 it swallows a cancel that lands as the wake-up
            # fires, and the relay then outlives the service's shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._wake.wait()
            self._wake.clear()
            try:
                while await self.drain_once() > 0:
                    pass
                failures = 0
            except Exception as failure:
                failures += 1
                log.warning("outbox_relay_failed", error=repr(failure), failures=failures)

    async def drain_once(self) -> int:
        """Publish one batch of pending messages from each collection; the number published."""
        published = 0
        for name in self.collections:
            collection = self.db[name]
            async for document in collection.find({PENDING: 1}, {OUTBOX: 1}).limit(self.batch):
                entries = document.get(OUTBOX, [])
                if entries:
                    await self.bus.publish_many([Outgoing.from_document(e) for e in entries])
                    await collection.update_one(
                        {"_id": document["_id"]}, {"$pullAll": {OUTBOX: entries}}
                    )
                    published += len(entries)
                await collection.update_one(
                    {"_id": document["_id"], OUTBOX: {"$size": 0}}, {"$set": {PENDING: 0}}
                )
        if time.monotonic() >= self._backlog_due:
            # Counting costs a query per collection, and more on big collections (nx-27017
            # counts in Python): on a timer, never per drain.
            OUTBOX_BACKLOG.labels(self.bus.service).set(await self.backlog())
            self._backlog_due = time.monotonic() + BACKLOG_EVERY_SECONDS
        return published

    async def backlog(self) -> int:
        """How many documents hold unpublished messages."""
        total = 0
        for name in self.collections:
            total += await self.db[name].count_documents({PENDING: 1})
        return total
