"""The inbox: ids of messages whose effects are committed, so redeliveries change nothing.

Two layers: the `_inbox` collection skips messages already handled (cheap, per service), and
effects themselves are idempotent: inserts keyed by a business key or message id, updates
guarded by `update_once` inside the document they change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from servicekit.clock import utcnow
from servicekit.grouped import Group, insert_unordered
from servicekit.metrics import INBOX_BATCH_MESSAGES

INBOX_COLLECTION = "_inbox"
APPLIED = "_applied"

BATCH_LIMIT = 256
"""Most message ids one inbox read or write carries."""

LINGER_SECONDS = 0.001
"""While calls keep coming, how long each next batch waits for more before it goes.

A latency trade: up to a millisecond more per lookup and per record under load, for larger
batches (fewer store round trips a message). A call that finds none at the store still goes
at once, and a full batch never waits."""


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


class Inbox:
    """Processed message ids of one service, keyed by message id (unique by `_id`).

    Lookups and records of messages handled at the same time share one round trip to the
    store each (see `servicekit.grouped.Group`); a record is still reported only once it is written.

    One document per message, not one per batch (`{ids: [...]}`): the embedded servers do
    not index array membership, so a lookup by `ids` reads the whole inbox and grows with it
    (decision 0003, fourth session), while `_id` lookups stay flat.
    """

    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], *, linger: float = LINGER_SECONDS
    ) -> None:
        self._collection = db[INBOX_COLLECTION]
        self._lookups: Group[str, bool] = Group(
            self._seen_many,
            BATCH_LIMIT,
            linger=linger,
            observe=INBOX_BATCH_MESSAGES.labels("lookup").observe,
        )
        self._records: Group[dict[str, Any], None] = Group(
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
        stored = await insert_unordered(self._collection, documents)
        return [outcome if isinstance(outcome, Exception) else None for outcome in stored]
