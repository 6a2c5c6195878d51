"""The store: one AsyncMongoClient per process, one database per service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


class Store:
    """A service's database on a shared client; timezone-aware datetimes throughout."""

    def __init__(
        self, *, url: str, database: str, listeners: Sequence[monitoring.CommandListener] = ()
    ) -> None:
        self.client: AsyncMongoClient[Document] = AsyncMongoClient(
            url,
            tz_aware=True,
            serverSelectionTimeoutMS=5000,
            appname=database,
            event_listeners=list(listeners),
        )
        self.db: AsyncDatabase[Document] = self.client[database]

    async def ping(self) -> bool:
        """Whether the server answers."""
        try:
            await self.client.admin.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()
