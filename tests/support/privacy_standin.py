"""A real data owner under test with a stand-in privacy service: the stand-in (a stateless
service named `privacy`) sends the owner privacy commands as the privacy service does and
collects their results and the events it hears; readers of the owner's raw database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts import Event
from contracts.privacy import (
    CategoryOutcome,
    EraseSubject,
    ExportSubject,
    LocateSubject,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from contracts.retention import RetentionSwept
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.restrictions import announce, broadcast_of
from support.waiting import eventually

Doc = dict[str, Any]
SubjectCommand = LocateSubject | ExportSubject | EraseSubject | RestrictSubject | RectifySubject
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""A fixed moment the retention tests date their records from."""


def stand_in(base: ServiceSettings) -> Service:
    """The stand-in privacy service, not started."""
    return Service.create("privacy", base, stateless=True)


def task_of(service: str) -> dict[str, str]:
    """The ids a privacy command carries: a new request, and `service`'s task of it."""
    request_id = new_id("dsr")
    return {"request_id": request_id, "task_id": f"{request_id}.{service}"}


def by_category(result: PrivacyTaskCompleted) -> dict[str, CategoryOutcome]:
    """The result's outcomes by category (each category once)."""
    outcomes = {outcome.category: outcome for outcome in result.outcomes}
    assert len(outcomes) == len(result.outcomes), result.outcomes
    return outcomes


@dataclass
class OwnerUnderTest:
    """A data owner as `create_service` builds it, a vault over its keys, and the stand-in
    privacy service (`caller`) with the results and events it heard. `run` sends a restrict
    command's broadcast first, as the privacy service does, unless `announces_restrictions` is
    False (tests of the owner's own handling of the command alone)."""

    service: Service
    caller: Service
    vault: Vault
    results: dict[str, PrivacyTaskCompleted] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    announces_restrictions: bool = True

    def __post_init__(self) -> None:
        """Subscribe the (not yet started) caller to results and retention reports."""

        async def on_result(result: PrivacyTaskCompleted, _context: MessageContext) -> None:
            self.results[result.task_id] = result

        async def on_event(event: Any, _context: MessageContext) -> None:
            self.events.append(event)

        self.caller.router.on(PrivacyTaskCompleted, on_result)
        self.caller.router.on(RetentionSwept, on_event)

    @property
    def db(self) -> AsyncDatabase[Doc]:
        """The owner's database, read raw as an auditor would."""
        return self.service.db

    def task(self) -> dict[str, str]:
        """The ids of a new request's task of this owner."""
        return task_of(self.service.name)

    async def run(self, command: SubjectCommand, *, succeed: bool = True) -> PrivacyTaskCompleted:
        """Send a privacy command as the privacy service does; its result (succeeded, unless
        `succeed` is False). A restrict command goes with its broadcast, kept first."""
        if isinstance(command, RestrictSubject) and self.announces_restrictions:
            await announce(self.caller.bus, broadcast_of(command, self.vault.blind_index), self.db)
        await self.caller.bus.publish(command, to=self.service.name)

        async def answered() -> PrivacyTaskCompleted | None:
            return self.results.get(command.task_id)

        result = await eventually(answered, what=f"the result of {command.TYPE}")
        assert result is not None
        assert result.succeeded is succeed, result.error
        return result

    async def erase(self, subject: SubjectRef) -> PrivacyTaskCompleted:
        """Erase the subject through the privacy fan-out."""
        return await self.run(EraseSubject(**self.task(), subject=subject))

    async def export(self, subject: SubjectRef) -> PrivacyTaskCompleted:
        """Export the subject through the privacy fan-out."""
        return await self.run(ExportSubject(**self.task(), subject=subject))

    async def ids(self, collection: str, criteria: Doc | None = None) -> set[str]:
        """The ids of the matching documents of a collection."""
        found = self.db[collection].find(criteria or {}, {"_id": 1})
        return {str(document["_id"]) async for document in found}

    async def everything(self) -> list[tuple[str, Doc]]:
        """Every document of every collection of the owner's database."""
        found = []
        for name in sorted(await self.db.list_collection_names()):
            found += [(name, document) async for document in self.db[name].find({})]
        return found

    async def mentions(self, *values: str) -> list[str]:
        """Where any of `values` appears (case-insensitively) in any document, as
        `collection:id`."""
        return plaintext_hits(await self.everything(), list(values))

    async def outboxes_drained(self) -> None:
        """Wait until every message the owner wrote to an outbox is published."""

        async def drained() -> bool:
            return await self.service.outbox.backlog() == 0

        await eventually(drained, what="the outboxes drained")


def plaintext_hits(documents: list[tuple[str, Doc]], values: list[str]) -> list[str]:
    """Where any of `values` appears (case-insensitively) in the documents, as `collection:id`."""
    lowered = [value.lower() for value in values]
    return [
        f"{collection}:{document.get('_id')}"
        for collection, document in documents
        if any(value in repr(document).lower() for value in lowered)
    ]
