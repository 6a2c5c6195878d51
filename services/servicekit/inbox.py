"""The inbox: ids of messages whose effects are committed, so redeliveries change nothing.

Two layers: the `_inbox` collection skips messages already handled (cheap, per service), and
effects themselves are idempotent: inserts keyed by a business key or message id, updates
guarded by `update_once` inside the document they change.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from servicekit.clock import utcnow

INBOX_COLLECTION = "_inbox"
APPLIED = "_applied"


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
    """Processed message ids of one service, keyed by message id (unique by `_id`)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._collection = db[INBOX_COLLECTION]

    async def seen(self, message_id: str) -> bool:
        """Whether this message's effects were already committed."""
        return await self._collection.find_one({"_id": message_id}, {"_id": 1}) is not None

    async def record(self, message_id: str, message_type: str) -> None:
        """Remember a handled message; recording it twice is harmless."""
        with contextlib.suppress(DuplicateKeyError):
            await self._collection.insert_one(
                {"_id": message_id, "type": message_type, "at": utcnow()}
            )
