"""The logs service's ingest: API request records and shipped technical records, sealed, stored.

Handlers build documents and hand them to the `LogWriter`, which group-commits what concurrent
handler calls bring: one key read per subject and one unordered `insert_many` per collection
and batch. A handler returns only once its documents are stored, so the message is acked after
its effect. Document ids are message ids (`<message id>:<nnn>` for the n-th shipped record):
a redelivered message inserts the same ids again, which the insert ignores.

A record's personal fields (IP address, user agent, email) are sealed with the key of its
subject (`subject_of`) so that erasing the subject can shred them, wherever they were copied.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from bson import Int64

from contracts.gateway import ApiRequestLogged
from contracts.logs import TechnicalRecord, TechnicalRecordsShipped
from logs import store
from logs.store import Db, Document
from servicekit.crypto import SUBJECT_ID, FieldCipher
from servicekit.inbox import Batcher
from servicekit.messages import MessageContext
from servicekit.vault import Vault, blind_field

SUBJECT_PREFIX_CHARS = 32
"""How much of a blind index names the key of a subject known only by IP or email."""

Write = tuple[str, list[Document]]
"""Documents (personal fields still plain) for one collection, from one handler call."""


def day_of(moment: datetime) -> str:
    """The UTC day of a moment, as `YYYY-MM-DD`."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date().isoformat()


def api_request_document(event: ApiRequestLogged, message_id: str) -> Document:
    """The stored form of an API request, personal fields still plain. The raw path is not
    kept: it may hold identifiers (ICCIDs, references) that the route template leaves out."""
    document: Document = {
        "_id": message_id,
        **event.model_dump(exclude_none=True, exclude={"path", "request_bytes", "response_bytes"}),
        "day": day_of(event.received_at),
    }
    for size in ("request_bytes", "response_bytes"):
        value = getattr(event, size)
        if value is not None:
            document[size] = Int64(value)
    return document


def technical_documents(batch: TechnicalRecordsShipped, message_id: str) -> list[Document]:
    """The stored forms of a shipped batch's records, personal fields still plain."""
    return [
        technical_document(record, f"{message_id}:{n:03d}")
        for n, record in enumerate(batch.records)
    ]


def technical_document(record: TechnicalRecord, record_id: str) -> Document:
    """The stored form of one technical record, personal fields still plain."""
    return {"_id": record_id, **record.model_dump(exclude_none=True), "day": day_of(record.at)}


def subject_of(document: Document) -> str | None:
    """Whose key seals the record's personal fields: the user, else the partner, else the IP,
    else the email (the last two by a prefix of their blind index); None if nobody's."""
    for field in ("user_id", "partner_id"):
        value = document.get(field)
        if isinstance(value, str) and SUBJECT_ID.fullmatch(value):
            return value
    for field in ("ip", "email"):
        index = document.get(blind_field(field))
        if isinstance(index, str):
            return f"{field}_{index[:SUBJECT_PREFIX_CHARS]}"
    return None


class LogWriter:
    """Seals and stores the documents of concurrent handler calls together (group commit).

    Subjects' ciphers are kept for `cipher_seconds` to seal with (never to open with). That is
    safe where decision 0004 forbids a cache for reading: a record sealed with a key that was
    shredded meanwhile is unreadable from the start, as the subject's erasure wants; reading a
    key per subject and batch would cap ingest far below the gateway's rate.
    """

    def __init__(
        self, db: Db, vault: Vault, *, batch_limit: int = 256, cipher_seconds: float = 30.0
    ) -> None:
        self.db = db
        self.vault = vault
        self._batcher: Batcher[Write, None] = Batcher(self._write, batch_limit)
        self._ciphers = SealingCiphers(vault, cipher_seconds)

    async def write(self, collection: str, documents: list[Document]) -> None:
        """Store the documents (sealing their personal fields); return once they are stored."""
        if documents:
            await self._batcher.call((collection, documents))

    async def _write(self, writes: list[Write]) -> Sequence[Exception | None]:
        await self.seal([document for _, documents in writes for document in documents])
        by_collection: dict[str, list[int]] = defaultdict(list)
        for position, (collection, _) in enumerate(writes):
            by_collection[collection].append(position)
        results: list[Exception | None] = [None] * len(writes)
        for collection, positions in by_collection.items():
            documents = [document for p in positions for document in writes[p][1]]
            failures = await store.insert_new(self.db[collection], documents)
            start = 0
            for p in positions:
                count = len(writes[p][1])
                results[p] = next((f for f in failures[start : start + count] if f), None)
                start += count
        return results

    async def seal(self, documents: list[Document]) -> None:
        """Replace the personal fields of each document by tokens, with blind indexes beside;
        one key read per subject. Fields of a record without any subject are dropped."""
        by_subject: dict[str, list[Document]] = defaultdict(list)
        for document in documents:
            for field, kind in store.BLIND_INDEXED.items():
                if isinstance(document.get(field), str):
                    document[blind_field(field)] = self.vault.index(kind, document[field])
            if not any(field in document for field in store.SEALED_FIELDS):
                continue
            subject = subject_of(document)
            if subject is None:
                for field in store.SEALED_FIELDS:
                    document.pop(field, None)
                continue
            by_subject[subject].append(document)
        ciphers = await self._ciphers.of(list(by_subject))
        for subject, documents_of_subject in by_subject.items():
            for document in documents_of_subject:
                _seal_fields(ciphers[subject], document)


class SealingCiphers:
    """Subjects' ciphers for sealing, each kept for a while, at most `limit` at once."""

    def __init__(self, vault: Vault, seconds: float, limit: int = 10_000) -> None:
        self.vault = vault
        self.seconds = seconds
        self.limit = limit
        self._kept: dict[str, tuple[FieldCipher, float]] = {}

    async def of(self, subjects: list[str]) -> dict[str, FieldCipher]:
        """The cipher of each subject (its key created on first use)."""
        now = time.monotonic()
        found = {s: kept[0] for s in subjects if (kept := self._kept.get(s)) and kept[1] > now}
        missing = [s for s in subjects if s not in found]
        fetched = await asyncio.gather(*(self.vault.keyring.cipher_for(s) for s in missing))
        if len(self._kept) + len(missing) > self.limit:
            self._kept = {s: kept for s, kept in self._kept.items() if kept[1] > now}
        for subject, cipher in zip(missing, fetched, strict=True):
            assert cipher is not None  # created on first use
            found[subject] = cipher
            if len(self._kept) < self.limit:
                self._kept[subject] = (cipher, now + self.seconds)
        return found


def _seal_fields(cipher: FieldCipher, document: Document) -> None:
    for field in store.SEALED_FIELDS:
        value = document.get(field)
        if isinstance(value, str):
            document[field] = cipher.encrypt(document["_id"], field, value)


class LogsHandlers:
    """Ingest handlers: each stores what its message carries, once."""

    def __init__(self, writer: LogWriter) -> None:
        self.writer = writer

    async def api_request_logged(self, event: ApiRequestLogged, context: MessageContext) -> None:
        """Keep the request record, keyed by the event's message id so a redelivery is a no-op
        (not by the request id: a client may send the same one twice)."""
        document = api_request_document(event, context.message_id)
        await self.writer.write(store.API_REQUESTS, [document])

    async def technical_records_shipped(
        self, event: TechnicalRecordsShipped, context: MessageContext
    ) -> None:
        """Keep each shipped record, keyed by the batch's message id and its position."""
        documents = technical_documents(event, context.message_id)
        await self.writer.write(store.TECHNICAL, documents)
