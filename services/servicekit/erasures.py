"""A data owner's own copy of the erasure ledger: which subjects were erased, and when.

Every data-owning service remembers each `privacy.subject_erased.v1` (and each erasure it is
asked to apply again) in its own collection `_erased_subjects`, one document per erasure
request: `{_id: request_id, scope_partner_id?, indexes: [hex, ...], erased_at}`. The indexes
are the blind indexes of the subject's identifiers (`BlindIndex.of(kind, value)` under the
platform's `BLIND_INDEX_KEY`, the key the services index their sealed fields with), never
the identifiers themselves.

Ingest paths ask it whether a message about a subject is older than the subject's erasure
(`erased_since`, or `erasures_of` once per batch and `Erasure.covers` per record): such a
message, arriving late or replayed, is not taken in again. A message that occurred after
the erasure is new processing and is taken in.

`indexes` is an indexed array, so it is asked with `$in` (decision 0002: nx-27017 misses
plain membership on an indexed array).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.erasure_ledger import (
    ErasedIdentifier,
    ErasureReapplied,
    ReapplyErasure,
    SubjectErased,
)
from contracts.privacy import CategoryOutcome, SubjectRef
from servicekit.bus import Bus
from servicekit.crypto import BlindIndex
from servicekit.grouped import GroupedInserts
from servicekit.messages import MessageContext
from servicekit.outbox import OutboxRelay, with_outbox
from servicekit.router import Router

ERASED_SUBJECTS = "_erased_subjects"

log = structlog.get_logger("servicekit.erasures")


@dataclass(frozen=True)
class IndexedSubject:
    """A subject as a service looks it up: each identifier by its blind index, and by its
    value where that is known.

    The one form `erase(subject)` and `erase_indexed(identifiers)` share: a request's subject
    has every value; a ledger entry has only those of platform-assigned kinds (partner id, user
    id, ICCID), so a service finds the other kinds only where it keeps their blind index."""

    indexes: dict[str, str]
    values: dict[str, str]

    @classmethod
    def of_subject(cls, subject: SubjectRef, blind: BlindIndex) -> IndexedSubject:
        """A request's subject: every identifier's index and value."""
        values = subject.identifiers()
        indexes = {}
        for kind, value in values.items():
            try:
                indexes[kind] = blind.of(kind, value)
            except ValueError:  # nothing left to index once normalised: found by value only
                continue
        return cls(indexes, values)

    @classmethod
    def of_erased(cls, identifiers: Iterable[ErasedIdentifier]) -> IndexedSubject:
        """A ledger entry's identifiers: indexes, and the values it carries."""
        listed = list(identifiers)
        return cls(
            {i.kind: i.index for i in listed},
            {i.kind: i.value for i in listed if i.value is not None},
        )


@dataclass(frozen=True)
class Erasure:
    """One remembered erasure."""

    indexes: frozenset[str]
    erased_at: datetime
    scope_partner_id: str | None = None

    def covers(self, indexes: Iterable[str], partner_id: str | None, occurred_at: datetime) -> bool:
        """Whether a message about one of `indexes`, under `partner_id`, that occurred at
        `occurred_at` is older than this erasure (an unscoped erasure covers every partner)."""
        if self.scope_partner_id is not None and self.scope_partner_id != partner_id:
            return False
        return occurred_at <= self.erased_at and not self.indexes.isdisjoint(indexes)


class ErasureRegister:
    """The service's `_erased_subjects`: remembered erasures, and the check ingest paths make."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], blind: BlindIndex | None) -> None:
        self.collection = db[ERASED_SUBJECTS]
        self.blind = blind
        self._inserts = GroupedInserts(self.collection)
        self._indexed = False

    async def create_indexes(self) -> None:
        """Erasures are found by the index of any of their identifiers (idempotent)."""
        await self.collection.create_index("indexes")
        self._indexed = True

    async def remember(self, erasure: SubjectErased | ReapplyErasure) -> None:
        """Keep the erasure (once: a second call for its request changes nothing)."""
        if not self._indexed:
            await self.create_indexes()
        document: dict[str, Any] = {
            "_id": erasure.request_id,
            "indexes": sorted({identifier.index for identifier in erasure.identifiers}),
            "erased_at": erasure.erased_at,
        }
        if erasure.scope_partner_id is not None:
            document["scope_partner_id"] = erasure.scope_partner_id
        # Written together with the other erasures announced meanwhile; a copy stores nothing.
        await self._inserts.insert(document)

    def index(self, kind: str, value: str) -> str | None:
        """The blind index of an identifier; None without a blind-index key."""
        return None if self.blind is None else self.blind.of(kind, value)

    async def erasures_of(self, indexes: Iterable[str]) -> list[Erasure]:
        """Every remembered erasure naming one of `indexes`: one query, whatever their number."""
        wanted = sorted(set(indexes))
        if not wanted:
            return []
        found = self.collection.find({"indexes": {"$in": wanted}})
        return [
            Erasure(
                indexes=frozenset(document["indexes"]),
                erased_at=document["erased_at"],
                scope_partner_id=document.get("scope_partner_id"),
            )
            async for document in found
        ]

    async def erased_since(
        self, identifiers: Mapping[str, str], partner_id: str | None, occurred_at: datetime
    ) -> bool:
        """Whether any of these identifiers (kind → value) was erased, in a scope covering
        `partner_id`, at or after `occurred_at`: a message about it is older than its erasure.
        Always False without a blind-index key (nothing can be matched)."""
        indexes = [
            index
            for kind, value in identifiers.items()
            if (index := self.index(kind, value)) is not None
        ]
        erasures = await self.erasures_of(indexes)
        return any(erasure.covers(indexes, partner_id, occurred_at) for erasure in erasures)


REAPPLIED = "_reapplied"
"""One document per (reapply run, erasure request) answered, written with the answer."""


class ErasesIndexed(Protocol):
    """The part of a `PrivacyHandler` a reapply run needs."""

    async def erase_indexed(
        self, identifiers: list[ErasedIdentifier], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Erase what the identifiers find, as `erase` would for the original subject."""


def join_erasure_ledger(
    *,
    router: Router,
    service: str,
    handler: ErasesIndexed,
    db: AsyncDatabase[dict[str, Any]],
    bus: Bus,
    relay: OutboxRelay,
) -> ErasureRegister:
    """Remember every announced erasure, and erase again (answering once per run and
    request, through the outbox) what a reapply run names."""
    register = ErasureRegister(db, None)
    answers = db[REAPPLIED]
    if REAPPLIED not in relay.collections:
        relay.collections.append(REAPPLIED)

    async def remember(event: SubjectErased, _context: MessageContext) -> None:
        await register.remember(event)

    async def reapply(command: ReapplyErasure, context: MessageContext) -> None:
        answer_id = f"{command.run_id}/{command.request_id}"
        if await answers.find_one({"_id": answer_id}, {"_id": 1}) is not None:
            return
        await register.remember(command)  # the register may have been restored too
        outcomes: list[CategoryOutcome] = []
        error: str | None = None
        try:
            scope = command.scope_partner_id
            outcomes = await handler.erase_indexed(command.identifiers, scope=scope)
        except Exception as failure:
            if not context.final_attempt:
                raise
            log.error("erasure_reapply_failed", request_id=command.request_id, error=repr(failure))
            error = f"{type(failure).__name__}: the service could not erase again"
        answer = ErasureReapplied(
            run_id=command.run_id,
            request_id=command.request_id,
            service=service,
            succeeded=error is None,
            outcomes=outcomes,
            error=error,
        )
        document = {"_id": answer_id, "run_id": command.run_id, "succeeded": int(error is None)}
        outgoing = bus.outgoing(answer, correlation_id=context.correlation_id)
        try:
            await answers.insert_one(with_outbox(document, outgoing))
        except DuplicateKeyError:
            return

    router.on(SubjectErased, remember, idempotent=True)
    router.on(ReapplyErasure, reapply, idempotent=True)
    return register
