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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import structlog
from pymongo import monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from servicekit.bus import Bus
from servicekit.messages import Outgoing
from servicekit.metrics import OUTBOX_BACKLOG

Document = dict[str, Any]
OUTBOX = "_outbox"
PENDING = "_outbox_pending"
"""1 while the document holds unpublished messages, else 0 (an int: see decision 0002)."""
CLEARS = "_outbox_clears"
"""How many times a relay removed published messages from the document's outbox (absent:
never). Writers only append, so a relay whose read saw this count and the outbox's length
still sees both, the outbox holds exactly what it read."""

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


class OutboxWrites(monitoring.CommandListener):
    """Watches a store client's commands for writes that leave outbox messages pending, and
    names their collection to the relay once the server has acknowledged them.

    This is how the relay learns of every outbox write at once, without each writer having to
    tell it: an insert of a document, an update or a find-and-modify that sets `PENDING` to 1.
    Writes made elsewhere (another replica, before a restart) are found by the relay's poll.
    """

    def __init__(self) -> None:
        self.on_write: Callable[[str], None] = lambda _collection: None
        self._in_flight: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Remember a command that leaves messages pending, until it succeeds."""
        collection = pending_write_collection(event.command_name, event.command)
        if collection is not None:
            self._in_flight[event.request_id] = collection

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """The write is acknowledged: its messages can be published."""
        collection = self._in_flight.pop(event.request_id, None)
        if collection is not None:
            self.on_write(collection)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Nothing was written."""
        self._in_flight.pop(event.request_id, None)


def _by_outbox_state(documents: Iterable[Document]) -> dict[tuple[int, int | None], list[Document]]:
    """Documents grouped by the outbox length and clear count each had when read."""
    groups: dict[tuple[int, int | None], list[Document]] = {}
    for document in documents:
        state = (len(document.get(OUTBOX, [])), document.get(CLEARS))
        groups.setdefault(state, []).append(document)
    return groups


def _unchanged(size: int, clears: int | None) -> dict[str, Any]:
    """Criteria of an outbox still as read: as long, and nothing removed since."""
    return {OUTBOX: {"$size": size}, CLEARS: {"$exists": False} if clears is None else clears}


CLEARED = {"$set": {OUTBOX: [], PENDING: 0}, "$inc": {CLEARS: 1}}
"""The update that empties an outbox."""


def pending_write_collection(name: str, command: Mapping[str, Any]) -> str | None:
    """The collection a command writes pending outbox messages to, or None."""
    if name == "insert":
        documents = command.get("documents", ())
        return command["insert"] if any(d.get(PENDING) == 1 for d in documents) else None
    if name == "update":
        updates = [u.get("u") for u in command.get("updates", ())]
        return command["update"] if any(_sets_pending(u) for u in updates) else None
    if name == "findAndModify":
        return command["findAndModify"] if _sets_pending(command.get("update")) else None
    return None


def _sets_pending(update: Any) -> bool:
    return isinstance(update, Mapping) and update.get("$set", {}).get(PENDING) == 1


class OutboxRelay:
    """Publishes pending outbox messages of the given collections, then removes them.

    It drains a collection as soon as `kick(collection)` names it (`OutboxWrites` does, for
    every outbox write of the service's client), every collection after a bare `kick()`, and
    every collection every `poll_seconds` in case a write happened where it could not see it.
    """

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
        self._due: set[str] = set()
        self._everything = False
        self._backlog_due = 0.0

    async def create_indexes(self) -> None:
        """Index the pending flag so the relay never scans."""
        for name in self.collections:
            await self.db[name].create_index(PENDING)

    def kick(self, collection: str | None = None) -> None:
        """Publish soon what was just written to `collection`'s outbox (None: to any)."""
        if collection is None:
            self._everything = True
        elif collection in self.collections:
            self._due.add(collection)
        else:
            return
        self._wake.set()

    async def run(self) -> None:
        """Relay forever: after every kick, and every `poll_seconds` in case a kick was missed."""
        failures = 0
        while True:
            backoff = self.poll_seconds * 2 ** min(failures, 5)
            woken = False
            # Not wait_for: on Python 3.11 it swallows a cancel that lands as the wake-up
            # fires, and the relay then outlives the service's shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._wake.wait()
                    woken = True
            self._wake.clear()
            due = self._take_due(everything=not woken or failures > 0)
            try:
                while due:
                    due = await self.drain(due)
                failures = 0
                # Inside the try: a count that fails (the store restarting) must not end the
                # relay, or nothing of this process's outbox would be published again.
                await self._refresh_backlog()
            except Exception as failure:
                failures += 1
                log.warning("outbox_relay_failed", error=repr(failure), failures=failures)

    def _take_due(self, *, everything: bool) -> list[str]:
        if everything or self._everything:
            due = list(self.collections)
        else:
            due = [name for name in self.collections if name in self._due]
        self._due.clear()
        self._everything = False
        return due

    async def drain(self, collections: Iterable[str]) -> list[str]:
        """Publish one batch from each collection; those that may hold more."""
        more = []
        for name in collections:
            if await self._drain_collection(name) >= self.batch:
                more.append(name)
        return more

    async def _drain_collection(self, name: str) -> int:
        """Publish the pending messages of up to `batch` documents; how many documents.

        The messages of every document read go out together, in the bus's confirm windows,
        and are then cleared together: one confirm wait and a few writes per batch, not one of
        each per document, which made a burst of outbox writes queue behind the relay."""
        collection = self.db[name]
        found = collection.find({PENDING: 1}, {OUTBOX: 1, CLEARS: 1}).limit(self.batch)
        documents = [document async for document in found]
        messages = [Outgoing.from_document(e) for d in documents for e in d.get(OUTBOX, [])]
        if messages:
            await self.bus.publish_many(messages)
        for (size, clears), group in _by_outbox_state(documents).items():
            await self._clear(collection, size, clears, group)
        return len(documents)

    async def _clear(
        self,
        collection: AsyncCollection[dict[str, Any]],
        size: int,
        clears: int | None,
        documents: list[Document],
    ) -> None:
        """Empty the outboxes of documents read with `size` messages (now published) and
        `clears` earlier clears.

        One write when each outbox is still as read; else, for each changed one, only what was
        published is pulled. A message appended meanwhile thus stays pending, even when
        another relay (another replica's) cleared the same document in between: its clear
        counts, so the length alone no longer passes for "unchanged"."""
        ids = [document["_id"] for document in documents]
        unchanged = _unchanged(size, clears)
        cleared = await collection.update_many({"_id": {"$in": ids}, **unchanged}, CLEARED)
        if cleared.matched_count == len(ids):
            return
        for document in documents:
            entries = document.get(OUTBOX, [])
            alone = await collection.update_one({"_id": document["_id"], **unchanged}, CLEARED)
            if alone.matched_count == 0:
                if entries:
                    await collection.update_one(
                        {"_id": document["_id"]},
                        {"$pullAll": {OUTBOX: entries}, "$inc": {CLEARS: 1}},
                    )
                self.kick(collection.name)

    async def _refresh_backlog(self) -> None:
        if time.monotonic() >= self._backlog_due:
            # Counting costs a query per collection, and more on big collections (nx-27017
            # counts in Python): on a timer, never per drain.
            OUTBOX_BACKLOG.labels(self.bus.service).set(await self.backlog())
            self._backlog_due = time.monotonic() + BACKLOG_EVERY_SECONDS

    async def backlog(self) -> int:
        """How many documents hold unpublished messages."""
        total = 0
        for name in self.collections:
            total += await self.db[name].count_documents({PENDING: 1})
        return total
