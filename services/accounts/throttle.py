"""Failed-login throttling: failures counted per key in a window, then a lockout.

One document per key (`_id` like `email:<blind index>` or `ip:<blind index>`) in
`login_throttle`: `{"failures": n, "window": {"started_at"}, "lock": {"until"}}`. Every change
is one conditional single-document write: `$inc` while the window is fresh, a reset when it is
stale, an insert for a new key (a unique `_id` settles racing first failures). Dates sit
inside subdocuments (decision 0002).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from accounts import store
from accounts.store import Db

_ATTEMPTS = 3
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Throttle:
    """Counts failures per key within `window`; `limit` of them lock the key for `lockout`."""

    db: Db
    window: timedelta
    lockout: timedelta

    async def locked_for(self, keys: Iterable[str], now: datetime) -> timedelta | None:
        """How long the longest lock on any of `keys` still holds; None if none is locked."""
        cursor = self.db[store.LOGIN_THROTTLE].find({"_id": {"$in": list(keys)}})
        remaining = [
            document["lock"]["until"] - now
            async for document in cursor
            if "lock" in document and document["lock"]["until"] > now
        ]
        return max(remaining, default=None)

    async def fail(self, key: str, limit: int, now: datetime) -> bool:
        """Count one failure for `key`; lock it (and start counting afresh) at `limit`.

        Whether this failure locked the key.
        """
        document = await self._count(key, now)
        if document is None or document["failures"] < limit:
            return False
        await self.db[store.LOGIN_THROTTLE].update_one(
            {"_id": key},
            {
                "$set": {
                    "lock": {"until": now + self.lockout},
                    "failures": 0,
                    "window": {"started_at": now},
                }
            },
        )
        return True

    async def clear(self, key: str) -> None:
        """Forget the failures of `key` (after a successful login); a running lock stays."""
        await self.db[store.LOGIN_THROTTLE].update_one(
            {"_id": key}, {"$set": {"failures": 0, "window": {"started_at": _LONG_AGO}}}
        )

    async def purge(self, now: datetime) -> int:
        """Delete keys whose window and lock have both passed (a retention sweep)."""
        throttle = self.db[store.LOGIN_THROTTLE]
        stale = {"window.started_at": {"$lt": now - self.window}}
        unlocked = await throttle.delete_many({**stale, "lock": {"$exists": False}})
        unlocked_again = await throttle.delete_many({**stale, "lock.until": {"$lt": now}})
        return unlocked.deleted_count + unlocked_again.deleted_count

    async def _count(self, key: str, now: datetime) -> dict[str, Any] | None:
        throttle = self.db[store.LOGIN_THROTTLE]
        cutoff = now - self.window
        for _ in range(_ATTEMPTS):
            fresh = await throttle.find_one_and_update(
                {"_id": key, "window.started_at": {"$gt": cutoff}},
                {"$inc": {"failures": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if fresh is not None:
                return fresh
            restarted = await throttle.find_one_and_update(
                {"_id": key, "window.started_at": {"$lte": cutoff}},
                {"$set": {"failures": 1, "window": {"started_at": now}}},
                return_document=ReturnDocument.AFTER,
            )
            if restarted is not None:
                return restarted
            first = {"_id": key, "failures": 1, "window": {"started_at": now}}
            try:
                await throttle.insert_one(first)
            except DuplicateKeyError:
                continue  # another failure created it first: count on theirs
            return first
        return None
