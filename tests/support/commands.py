"""Watching a store client: the commands it sends, by name and the collection each addresses,
and a client that reports them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

from pymongo import AsyncMongoClient, monitoring

Doc = dict[str, Any]

STATEMENTS = {"insert": "documents", "update": "updates", "delete": "deletes"}
"""The field of each write command that lists its statements."""


class Sent(NamedTuple):
    """One command a client sent."""

    name: str
    collection: str
    statements: int
    """How many documents, updates or deletes a write carried (0 for other commands)."""


class Commands(monitoring.CommandListener):
    """The commands a client sends, in order."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    @property
    def names(self) -> list[str]:
        """The names of the commands sent, in order."""
        return [sent.name for sent in self.sent]

    def count(self, name: str, collection: str | None = None) -> int:
        """How many `name` commands were sent (to `collection`, when given)."""
        return sum(
            1 for sent in self.sent if sent.name == name and collection in (None, sent.collection)
        )

    def statements(self, name: str) -> list[int]:
        """How many statements each `name` command carried, in order."""
        return [sent.statements for sent in self.sent if sent.name == name]

    def clear(self) -> None:
        """Forget what was sent so far."""
        self.sent.clear()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Note one command."""
        name, command = event.command_name, event.command
        carried = len(command.get(STATEMENTS[name], ())) if name in STATEMENTS else 0
        self.sent.append(Sent(name, str(command.get(name, "")), carried))

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
