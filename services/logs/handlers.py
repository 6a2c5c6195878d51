"""The logs service's ingest: API request records and shipped technical records, sealed, stored.

Handlers build documents and hand them to the `LogWriter`, which seals each call's documents
(subjects' ciphers and blind indexes kept a while in memory) and group-commits what concurrent
handler calls bring: one unordered `insert_many` per collection and group. A handler returns
only once its documents are stored, so the message is acked after its effect. Both kinds of
record arrive in batches; the n-th record of a message is stored as `<message id>:<nnn>`: a
redelivered message inserts the same ids again, which the insert ignores.

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

from contracts.gateway import ApiRequestRecord, ApiRequestsLogged
from contracts.logs import TechnicalRecord, TechnicalRecordsShipped
from logs import store
from logs.late_records import LateRecords
from logs.store import Db, Document
from servicekit.crypto import SUBJECT_ID, FieldCipher
from servicekit.erasures import ErasureRegister
from servicekit.grouped import Group, insert_unordered
from servicekit.messages import MessageContext
from servicekit.vault import Vault, blind_field

SUBJECT_PREFIX_CHARS = 32
"""How much of a blind index names the key of a subject known only by IP or email."""

Write = tuple[str, list[Document]]
"""Sealed documents for one collection, from one handler call."""


def day_of(moment: datetime) -> str:
    """The UTC day of a moment, as `YYYY-MM-DD`."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date().isoformat()


def record_id(message_id: str, position: int) -> str:
    """The stored id of the record at `position` (from 0) of a batch message."""
    return f"{message_id}:{position:03d}"


def api_request_documents(batch: ApiRequestsLogged, message_id: str) -> list[Document]:
    """The stored forms of a batch's API requests, personal fields still plain."""
    return [
        api_request_document(record, record_id(message_id, n))
        for n, record in enumerate(batch.records)
    ]


def api_request_document(record: ApiRequestRecord, record_id: str) -> Document:
    """The stored form of an API request, personal fields still plain. The raw path is not
    kept: it may hold identifiers (ICCIDs, references) that the route template leaves out."""
    document: Document = {
        "_id": record_id,
        **record.model_dump(exclude_none=True, exclude={"path", "request_bytes", "response_bytes"}),
        "day": day_of(record.received_at),
    }
    for size in ("request_bytes", "response_bytes"):
        value = getattr(record, size)
        if value is not None:
            document[size] = Int64(value)
    return document


def technical_documents(batch: TechnicalRecordsShipped, message_id: str) -> list[Document]:
    """The stored forms of a shipped batch's records, personal fields still plain."""
    return [
        technical_document(record, record_id(message_id, n))
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
    """Seals each handler call's documents, then stores those of concurrent calls together
    (group commit). Sealing before joining the batch lets it overlap the insert in flight:
    sealing inside the batch left the store idle while the CPU sealed, and the other way round.

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
        self._batcher: Group[Write, None] = Group(self._write, batch_limit)
        self._ciphers = SealingCiphers(vault, cipher_seconds)
        self._indexes = BlindIndexes(vault)
        self._late = LateRecords(ErasureRegister(db, vault.blind_index), self._indexes.of)

    async def write(self, collection: str, documents: list[Document]) -> None:
        """Store the documents (sealing their personal fields), except those older than an
        erasure of their subject (`logs.late_records`); return once they are stored."""
        documents = await self._late.kept(collection, documents)
        if documents:
            await self.seal(documents)
            await self._batcher.call((collection, documents))

    async def _write(self, writes: list[Write]) -> Sequence[Exception | None]:
        by_collection: dict[str, list[int]] = defaultdict(list)
        for position, (collection, _) in enumerate(writes):
            by_collection[collection].append(position)
        results: list[Exception | None] = [None] * len(writes)
        for collection, positions in by_collection.items():
            documents = [document for p in positions for document in writes[p][1]]
            stored = await insert_unordered(self.db[collection], documents)
            start = 0
            for p in positions:
                count = len(writes[p][1])
                mine = stored[start : start + count]
                results[p] = next((f for f in mine if isinstance(f, Exception)), None)
                start += count
        return results

    async def seal(self, documents: list[Document]) -> None:
        """Replace the personal fields of each document by tokens, with blind indexes beside;
        one key read per subject. Fields of a record without any subject are dropped."""
        by_subject: dict[str, list[Document]] = defaultdict(list)
        for document in documents:
            for field, kind in store.BLIND_INDEXED.items():
                if isinstance(document.get(field), str):
                    document[blind_field(field)] = self._indexes.of(kind, document[field])
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


class BlindIndexes:
    """Blind indexes of recently seen values, at most `limit` kept (in this process's memory
    only, never stored): the same few addresses come again and again, and canonicalising and
    hashing each cost more than sealing it (measured with deploy/bench_logs.py)."""

    def __init__(self, vault: Vault, limit: int = 10_000) -> None:
        self.vault = vault
        self.limit = limit
        self._kept: dict[tuple[str, str], str] = {}

    def of(self, kind: str, value: str) -> str:
        """`vault.index(kind, value)`, from memory when it was computed lately."""
        key = (kind, value)
        index = self._kept.get(key)
        if index is None:
            index = self.vault.index(kind, value)
            if len(self._kept) >= self.limit:
                self._kept.clear()
            self._kept[key] = index
        return index


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

    async def api_requests_logged(self, event: ApiRequestsLogged, context: MessageContext) -> None:
        """Keep each request record, keyed by the batch's message id and its position so a
        redelivery is a no-op (not by the request id: a client may send the same one twice)."""
        documents = api_request_documents(event, context.message_id)
        await self.writer.write(store.API_REQUESTS, documents)

    async def technical_records_shipped(
        self, event: TechnicalRecordsShipped, context: MessageContext
    ) -> None:
        """Keep each shipped record, keyed by the batch's message id and its position."""
        documents = technical_documents(event, context.message_id)
        await self.writer.write(store.TECHNICAL, documents)
