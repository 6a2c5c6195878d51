"""The inbox: ids of messages whose effects are committed, so redeliveries change nothing.

Two layers: the `_inbox` collection skips messages already handled (cheap, per service), and
effects themselves are idempotent: inserts keyed by a business key or message id, updates
guarded by `update_once` inside the document they change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from servicekit.clock import utcnow
from servicekit.metrics import INBOX_BATCH_MESSAGES

INBOX_COLLECTION = "_inbox"
APPLIED = "_applied"
DUPLICATE_KEY = 11000

BATCH_LIMIT = 256
"""Most message ids one inbox read or write carries."""

LINGER_SECONDS = 0.001
"""While calls keep coming, how long each next batch waits for more before it goes.

A latency trade: up to a millisecond more per lookup and per record under load, for larger
batches (fewer store round trips a message). A call that finds the batcher idle still goes
at once, and a full batch never waits."""

T = TypeVar("T")
R = TypeVar("R")


async def update_once(
    collection: AsyncCollection[dict[str, Any]],
    criteria: dict[str, Any],
    update: dict[str, Any],
    message_id: str,
    *,
    upsert: bool = False,
) -> bool:
    """Apply `update` to the matching document once per message; whether it was applied now.

    The message id is recorded in the document by the same write that applies the effect, so
    copies of one message handled at the same time, or a redelivery after a crash, change it
    only once. With `upsert`, a document that exists and already took the message makes the
    upsert's insert collide on `_id`: that too means "already applied".
    """
    merged = {operator: dict(fields) for operator, fields in update.items()}
    merged.setdefault("$push", {})[APPLIED] = message_id
    try:
        result = await collection.update_one(
            {**criteria, APPLIED: {"$nin": [message_id]}}, merged, upsert=upsert
        )
    except DuplicateKeyError:
        return False
    return result.modified_count > 0 or result.upserted_id is not None


class Batcher(Generic[T, R]):
    """Gathers calls made while one is in flight and runs them as one (group commit).

    A lone call runs at once; calls that arrive while a batch is at the store wait for it and
    go together in the next one, which first lingers up to `linger` seconds for more (unless
    it is full). Each caller gets its own result, or its own exception, only after the batch
    that carried it has finished, so nothing is reported done before it is.
    """

    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        limit: int,
        *,
        linger: float = 0.0,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self._run = run
        self._limit = limit
        self._linger = linger
        self._observe = observe
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None
        self._full: asyncio.Future[None] | None = None

    async def call(self, item: T) -> R:
        """Run `item` in the next batch and return its result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        elif self._full is not None and not self._full.done() and len(self._waiting) >= self._limit:
            self._full.set_result(None)
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            first = True
            while self._waiting:
                if not first:
                    await self._linger_for_more()
                first = False
                batch = self._waiting[: self._limit]
                del self._waiting[: self._limit]
                if self._observe is not None:
                    self._observe(len(batch))
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as failure:
                    results = [failure] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._task = None
            self._full = None
            for _, future in [*batch, *self._waiting]:
                if not future.done():
                    future.cancel()
            self._waiting.clear()

    async def _linger_for_more(self) -> None:
        """Wait up to `linger` seconds, or until a full batch is waiting."""
        if not self._linger or len(self._waiting) >= self._limit:
            return
        self._full = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._linger):
                await self._full
        except TimeoutError:
            pass
        finally:
            self._full = None


class Inbox:
    """Processed message ids of one service, keyed by message id (unique by `_id`).

    Lookups and records of messages handled at the same time share one round trip to the
    store each (see `Batcher`); a record is still reported only once it is written.

    One document per message, not one per batch (`{ids: [...]}`): the embedded servers do
    not index array membership, so a lookup by `ids` reads the whole inbox and grows with it
    (decision 0003, fourth session), while `_id` lookups stay flat.
    """

    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], *, linger: float = LINGER_SECONDS
    ) -> None:
        self._collection = db[INBOX_COLLECTION]
        self._lookups: Batcher[str, bool] = Batcher(
            self._seen_many,
            BATCH_LIMIT,
            linger=linger,
            observe=INBOX_BATCH_MESSAGES.labels("lookup").observe,
        )
        self._records: Batcher[dict[str, Any], None] = Batcher(
            self._record_many,
            BATCH_LIMIT,
            linger=linger,
            observe=INBOX_BATCH_MESSAGES.labels("record").observe,
        )

    async def create_indexes(self) -> None:
        """Index the record time, which pruning selects on."""
        await self._collection.create_index("at")

    async def prune(self, older_than: datetime) -> int:
        """Forget messages handled before `older_than`; how many were forgotten.

        A redelivery comes within minutes (retries, reconnects); after the retention window
        a message id is no longer expected, and an inbox that only grows slows every lookup.
        """
        result = await self._collection.delete_many({"at": {"$lt": older_than}})
        return result.deleted_count

    async def seen(self, message_id: str) -> bool:
        """Whether this message's effects were already committed."""
        return await self._lookups.call(message_id)

    async def record(self, message_id: str, message_type: str) -> None:
        """Remember a handled message once it is written; recording it twice is harmless."""
        await self._records.call({"_id": message_id, "type": message_type, "at": utcnow()})

    async def _seen_many(self, message_ids: list[str]) -> list[bool]:
        if len(message_ids) == 1:
            found = await self._collection.find_one({"_id": message_ids[0]}, {"_id": 1})
            return [found is not None]
        cursor = self._collection.find({"_id": {"$in": message_ids}}, {"_id": 1})
        known = {document["_id"] async for document in cursor}
        return [message_id in known for message_id in message_ids]

    async def _record_many(self, documents: list[dict[str, Any]]) -> list[Exception | None]:
        return await insert_new(self._collection, documents)


async def insert_new(
    collection: AsyncCollection[dict[str, Any]], documents: list[dict[str, Any]]
) -> list[Exception | None]:
    """Insert unordered; per document, None or why it failed. An `_id` that is already stored
    (a redelivered message) is not a failure: the document is there."""
    if not documents:
        return []
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as failure:
        if failure.details.get("writeConcernErrors"):
            raise
        results: list[Exception | None] = [None] * len(documents)
        for error in failure.details.get("writeErrors", []):
            if error.get("code") != DUPLICATE_KEY:
                results[error["index"]] = WriteError(
                    error.get("errmsg", "write failed"), error.get("code"), error
                )
        return results
    return [None] * len(documents)
