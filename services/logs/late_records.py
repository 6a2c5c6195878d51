"""Log records about an erased subject that arrive after its erasure are not taken in again.

Logs are shipped in buffered batches, so a record written before a subject's erasure can
arrive after it (or again, when old messages are replayed). Before a batch is sealed, its
records' identifiers (partner id, user id, IP address, email) are looked up, as blind
indexes, in the service's register of erasures (`servicekit.erasures`), with one query for
the whole batch. A record that occurred at or before an erasure covering one of its
identifiers (in the erasure's scope: an unscoped one covers every partner) is dropped and
counted in `privacy_late_records_dropped_total{service}`. A record that occurred after the
erasure is new processing and is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client import Counter

from logs import store
from logs.store import Document
from servicekit.erasures import ErasureRegister

LATE_RECORDS_DROPPED = Counter(
    "privacy_late_records_dropped_total",
    "Records not stored because they occurred before an erasure of their subject.",
    ["service"],
)
OCCURRED_AT = {store.API_REQUESTS: "received_at", store.TECHNICAL: "at"}
"""The field that says when each collection's record occurred."""
BY_VALUE = ("partner_id", "user_id")
"""Identifier kinds a record holds as they are (the others it holds as blind indexes)."""

Index = Callable[[str, str], str]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class LateRecords:
    """Drops the records of a batch that an erasure of their subject came after."""

    def __init__(self, register: ErasureRegister, index: Index, service: str = "logs") -> None:
        self.register = register
        self.index = index
        self.dropped = LATE_RECORDS_DROPPED.labels(service=service)

    def _indexes(self, document: Document) -> list[str]:
        """The blind indexes of the record's identifiers."""
        found = [
            self.index(kind, value)
            for kind in BY_VALUE
            if isinstance(value := document.get(kind), str) and value
        ]
        for field, kind in store.BLIND_INDEXED.items():
            value = document.get(field)
            if isinstance(value, str) and value.strip():
                found.append(self.index(kind, value))
        return found

    async def kept(self, collection: str, documents: list[Document]) -> list[Document]:
        """The documents to store: all but those older than an erasure of their subject."""
        moment = OCCURRED_AT.get(collection)
        if moment is None or not documents:
            return documents
        indexes = [self._indexes(document) for document in documents]
        erasures = await self.register.erasures_of(i for each in indexes for i in each)
        if not erasures:
            return documents
        kept = []
        for document, own in zip(documents, indexes, strict=True):
            partner_id = document.get("partner_id")
            occurred_at = _aware(document[moment])
            if any(e.covers(own, partner_id, occurred_at) for e in erasures):
                self.dropped.inc()
            else:
                kept.append(document)
        return kept
