"""Helpers of the service-side erasure-ledger tests: a backup of documents taken before an
erasure and put back after it (the "restore"), ledger identifiers as privacy sends them, and
a reapply command sent to one service with its answer collected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.erasure_ledger import (
    PLATFORM_KINDS,
    ErasedIdentifier,
    ErasureReapplied,
    ReapplyErasure,
)
from contracts.privacy import Disposition, SubjectRef
from servicekit.clock import utcnow
from servicekit.ids import new_id
from servicekit.keyring import KEY_COLLECTION
from servicekit.messages import MessageContext
from servicekit.service import Service
from support.waiting import eventually

Doc = dict[str, Any]
Index = Callable[[str, str], str]
ERASED = frozenset({Disposition.DELETED, Disposition.PSEUDONYMISED})


@dataclass
class Backup:
    """Copies of whole collections (the test's own database holds only the test's data)."""

    copies: dict[str, list[Doc]]

    @classmethod
    async def take(cls, db: AsyncDatabase[Doc], collections: list[str]) -> Backup:
        """Copy every document of the collections and of the key ring."""
        names = [*collections, KEY_COLLECTION]
        return cls({name: await db[name].find({}).to_list() for name in names})

    async def restore(self, db: AsyncDatabase[Doc]) -> None:
        """Put every copied document back as it was (replacing what is there now)."""
        for name, documents in self.copies.items():
            for document in documents:
                await db[name].delete_one({"_id": document["_id"]})
                await db[name].insert_one(document)


def ledger_identifiers(subject: SubjectRef, index: Index) -> list[ErasedIdentifier]:
    """The subject's identifiers as the erasure ledger keeps them: blind indexes, values of
    platform-assigned kinds only."""
    return [
        ErasedIdentifier.model_validate(
            {
                "kind": kind,
                "index": index(kind, value),
                "value": value if kind in PLATFORM_KINDS else None,
            }
        )
        for kind, value in sorted(subject.identifiers().items())
    ]


@dataclass
class Reapplier:
    """Sends `ReapplyErasure` to a service as a reapply run does, and hears the answers."""

    caller: Service
    service: str
    answers: list[ErasureReapplied] = field(default_factory=list)

    def listen(self) -> None:
        """Subscribe the (not yet started) caller to the answers."""

        async def heard(event: ErasureReapplied, _context: MessageContext) -> None:
            self.answers.append(event)

        self.caller.router.on(ErasureReapplied, heard)

    async def reapply(
        self,
        subject: SubjectRef,
        index: Index,
        *,
        scope: str | None = None,
        erased_at: datetime | None = None,
        run_id: str | None = None,
        request_id: str | None = None,
    ) -> ErasureReapplied:
        """Send the erasure of `subject` again; the service's answer to it."""
        command = ReapplyErasure(
            run_id=run_id or new_id("rap"),
            request_id=request_id or new_id("dsr"),
            scope_partner_id=scope,
            identifiers=ledger_identifiers(subject, index),
            erased_at=erased_at or utcnow(),
        )
        await self.caller.bus.publish(command, to=self.service)

        async def answered() -> ErasureReapplied | None:
            return next(
                (
                    a
                    for a in self.answers
                    if (a.run_id, a.request_id) == (command.run_id, command.request_id)
                ),
                None,
            )

        answer = await eventually(answered, what=f"{self.service} answers the reapply")
        assert answer is not None
        assert answer.succeeded, answer.error
        assert answer.service == self.service
        return answer


def erased_again(answer: ErasureReapplied) -> dict[str, int]:
    """Per category, how many records the answer says were erased again."""
    return {o.category: o.records for o in answer.outcomes if o.disposition in ERASED and o.records}
