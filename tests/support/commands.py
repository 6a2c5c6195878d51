"""Watching a store client: the commands it sends, by name and the collection each addresses,
and a client that reports them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient, monitoring

Doc = dict[str, Any]

STATEMENTS = {"insert": "documents", "update": "updates", "delete": "deletes"}
"""The field of each write command that lists its statements."""


class Commands(monitoring.CommandListener):
    """The commands a client sends, in order: each as (command name, collection)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self._statements: list[tuple[str, int]] = []

    @property
    def names(self) -> list[str]:
        """The names of the commands sent, in order."""
        return [name for name, _ in self.sent]

    def count(self, name: str, collection: str | None = None) -> int:
        """How many `name` commands were sent (to `collection`, when given)."""
        return sum(1 for sent in self.sent if sent[0] == name and collection in (None, sent[1]))

    def statements(self, name: str) -> list[int]:
        """How many statements (documents, updates or deletes) each `name` command carried."""
        return [count for sent, count in self._statements if sent == name]

    def clear(self) -> None:
        """Forget what was sent so far."""
        self.sent.clear()
        self._statements.clear()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Note one command."""
        name = event.command_name
        self.sent.append((name, str(event.command.get(name, ""))))
        if name in STATEMENTS:
            self._statements.append((name, len(event.command.get(STATEMENTS[name], ()))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Nothing to note."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Nothing to note (the command was noted when it was sent)."""


@asynccontextmanager
async def watched_client(mongo_url: str) -> AsyncIterator[tuple[AsyncMongoClient[Doc], Commands]]:
    """A client of `mongo_url` and the commands it sends; closed on leaving."""
    commands = Commands()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000, event_listeners=[commands]
    )
    try:
        yield client, commands
    finally:
        await client.close()
