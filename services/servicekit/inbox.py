"""The inbox: ids of messages whose effects are committed, so redeliveries change nothing."""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from servicekit.clock import utcnow

INBOX_COLLECTION = "_inbox"


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
