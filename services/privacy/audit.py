"""The audit trail: append-only, hash-chained entries for every state change and receipt.

Each entry is `{_id: seq, seq, at, request_id?, kind, key, detail, prev_hash, hash}`. `seq`
counts from 1 without gaps; `hash` is the SHA-256 of `prev_hash` followed by the canonical
JSON of the entry without `_id` and `hash` (`at` as UTC ISO 8601 to the millisecond), so
changing or removing any entry breaks the chain there. `seq` is kept beside `_id` because
nx-27017 sorts integer `_id`s as text (9 after 10); reads sort and page by `seq`.

Appends are safe across handlers and replicas without transactions. Within a process they
are written by group commit: the entries waiting are chained in memory from the known head
and inserted together, the next `seq` as each `_id`; on a duplicate `_id` (another replica
took that seq) the head is read again and the batch retried. `key` (unique) makes every
append idempotent: an event recorded once is never recorded twice, so a redelivered message
adds nothing.
Entries hold ids, types, services and reasons only, never a subject's personal data:
erasure cannot reach an append-only log.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from privacy.store import Db
from servicekit.receipts import canonical_json, millisecond_utc, sha256_hex, to_millisecond

AUDIT = "audit_trail"
GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""
APPEND_ATTEMPTS = 100
PAGE = 500
EXPORT_FORMAT = "esim-privacy-audit.v1"


class AuditKind(StrEnum):
    """What an audit entry records."""

    REQUEST_CREATED = "request_created"
    STATUS_CHANGED = "status_changed"
    TASK_SENT = "task_sent"
    TASK_RESENT = "task_resent"
    TASK_GAVE_UP = "task_gave_up"
    TASK_RERUN = "task_rerun"
    DEADLINE_EXTENDED = "deadline_extended"
    RECEIPT_ACCEPTED = "receipt_accepted"
    RECEIPT_REFUSED = "receipt_refused"
    REQUEST_COMPLETED = "request_completed"
    REQUEST_COMPLETED_WITH_EXCEPTIONS = "request_completed_with_exceptions"
    REQUEST_FAILED = "request_failed"
    RECEIPT_KEY_REGISTERED = "receipt_key_registered"


class AuditContention(RuntimeError):
    """Other writers kept taking the next seq; the handler is retried by the consumer."""


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the chain: OK, or the first broken link and why."""

    ok: bool
    entries: int
    head_hash: str
    broken_at: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (absent fields left out)."""
        return {name: value for name, value in asdict(self).items() if value is not None}


async def create_indexes(db: Db) -> None:
    """The idempotency key is unique; `_id` (the seq claim) is unique by itself."""
    await db[AUDIT].create_index("key", unique=True)
    await db[AUDIT].create_index("seq", unique=True)
    await db[AUDIT].create_index("request_id")


def hashed_form(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as it is hashed and exported: without `_id`, `at` as a millisecond string."""
    form = {name: value for name, value in entry.items() if name != "_id"}
    at = entry.get("at")
    form["at"] = millisecond_utc(at) if isinstance(at, datetime) else at
    return form


def link_hash(form: Mapping[str, Any]) -> str:
    """SHA-256 of `prev_hash` + the canonical JSON of the entry without its own hash."""
    body = {name: value for name, value in form.items() if name != "hash"}
    return sha256_hex(str(form["prev_hash"]) + canonical_json(body))


async def append(
    db: Db,
    kind: AuditKind,
    *,
    key: str,
    now: datetime,
    request_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry (once per `key`); its seq."""
    seqs = await append_all(
        db, [entry(kind, key=key, now=now, request_id=request_id, detail=detail)]
    )
    return seqs[0]


async def append_all(db: Db, entries: Sequence[Pending]) -> list[int]:
    """Append entries, in order, each once per `key`; their seqs.

    Appends of one process are written together (group commit): whoever holds the writer's
    lock writes every entry waiting, chained in memory, in one `insert_many`, so concurrent
    handlers do not race each other for the head of the chain."""
    return await _writer_for(db).append(list(entries))


def entry(
    kind: AuditKind,
    *,
    key: str,
    now: datetime,
    request_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Pending:
    """An entry to append."""
    return Pending(kind, key, to_millisecond(now), request_id, dict(detail or {}))


@dataclass(frozen=True)
class Pending:
    """An entry waiting to be appended."""

    kind: AuditKind
    key: str
    at: datetime
    request_id: str | None
    detail: dict[str, Any]


_WRITERS: dict[tuple[int, str], _Writer] = {}


def _writer_for(db: Db) -> _Writer:
    """This process's writer of the chain in `db`, on the running event loop."""
    loop = asyncio.get_running_loop()
    slot = (id(db.client), db.name)
    writer = _WRITERS.get(slot)
    if writer is None or writer.loop is not loop:
        writer = _WRITERS[slot] = _Writer(db, loop)
    return writer


class _Writer:
    """Group commit of one chain: waiting entries are written together, under one lock."""

    def __init__(self, db: Db, loop: asyncio.AbstractEventLoop) -> None:
        self.db = db
        self.loop = loop
        self.lock = asyncio.Lock()
        self.waiting: list[tuple[Pending, asyncio.Future[int]]] = []
        self.head: Mapping[str, Any] | None = None

    async def append(self, entries: list[Pending]) -> list[int]:
        futures: list[asyncio.Future[int]] = []
        for pending in entries:
            future: asyncio.Future[int] = self.loop.create_future()
            self.waiting.append((pending, future))
            futures.append(future)
        async with self.lock:
            if not all(future.done() for future in futures):
                batch, self.waiting = self.waiting, []
                await self._write_all(batch)
        return [await future for future in futures]

    async def _write_all(self, batch: list[tuple[Pending, asyncio.Future[int]]]) -> None:
        try:
            seqs = await self._write([pending for pending, _ in batch])
        except Exception as failure:
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        for pending, future in batch:
            future.set_result(seqs[pending.key])

    async def _write(self, batch: list[Pending]) -> dict[str, int]:
        """Each entry's seq. The entries are chained from the known head and inserted in one
        ordered `insert_many`; when that collides (a key recorded before, or a seq another
        replica took meanwhile) the recorded keys and the head are read again and the rest is
        tried again."""
        entries = self.db[AUDIT]
        fresh = list({pending.key: pending for pending in batch}.values())
        known: dict[str, int] = {}
        for _ in range(APPEND_ATTEMPTS):
            new = self._chain(fresh, await self._head())
            if not new:
                return known
            try:
                await entries.insert_many(new, ordered=True)
            except (DuplicateKeyError, BulkWriteError):
                self.head = None
                keys = [pending.key for pending in batch]
                known = {
                    doc["key"]: int(doc["_id"])
                    async for doc in entries.find({"key": {"$in": keys}}, {"key": 1})
                }
                fresh = [pending for pending in fresh if pending.key not in known]
                continue
            self.head = new[-1]
            return {**known, **{entry["key"]: int(entry["_id"]) for entry in new}}
        raise AuditContention(f"could not append {len(batch)} entries")

    async def _head(self) -> Mapping[str, Any] | None:
        if self.head is None:
            self.head = await self.db[AUDIT].find_one({}, sort=[("seq", DESCENDING)])
        return self.head

    @staticmethod
    def _chain(pending: list[Pending], head: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        chained: list[dict[str, Any]] = []
        for item in pending:
            entry = _next_entry(head, item.kind, item.key, item.at, item.request_id, item.detail)
            chained.append(entry)
            head = entry
        return chained


def _next_entry(
    head: Mapping[str, Any] | None,
    kind: AuditKind,
    key: str,
    at: datetime,
    request_id: str | None,
    detail: Mapping[str, Any],
) -> dict[str, Any]:
    seq = int(head["seq"]) + 1 if head else 1
    entry: dict[str, Any] = {
        "_id": seq,
        "seq": seq,
        "at": at,
        "kind": kind.value,
        "key": key,
        "detail": {name: value for name, value in detail.items() if value is not None},
        "prev_hash": str(head["hash"]) if head else GENESIS,
    }
    if request_id is not None:
        entry["request_id"] = request_id
    entry["hash"] = link_hash(hashed_form(entry))
    return entry


async def stored_forms(db: Db) -> AsyncIterator[dict[str, Any]]:
    """Every entry in seq order, in hashed form, read a page at a time."""
    last: int | None = None
    while True:
        criteria = {} if last is None else {"seq": {"$gt": last}}
        cursor = db[AUDIT].find(criteria).sort("seq", ASCENDING).limit(PAGE)
        page = [document async for document in cursor]
        for document in page:
            yield hashed_form(document)
        if len(page) < PAGE:
            return
        last = int(page[-1]["seq"])


def first_break(expected_seq: int, previous_hash: str, form: Mapping[str, Any]) -> str | None:
    """Why this entry does not continue the chain, or None when it does."""
    try:
        seq, prev_hash, stored_hash = form["seq"], form["prev_hash"], form["hash"]
        if seq != expected_seq:
            return f"entry {expected_seq} is missing (the next entry is {seq})"
        if prev_hash != previous_hash:
            return f"prev_hash is not the hash of entry {expected_seq - 1}"
        if link_hash(form) != stored_hash:
            return "the entry's contents do not match its hash"
    except (KeyError, TypeError):
        return "the entry is malformed"
    return None


class LinkChecker:
    """Follows the chain entry by entry and stops at the first broken link."""

    def __init__(self) -> None:
        self.previous_hash = GENESIS
        self.count = 0
        self.broken: ChainReport | None = None

    def step(self, form: Mapping[str, Any]) -> bool:
        """Check the next entry; False once the chain is broken."""
        reason = first_break(self.count + 1, self.previous_hash, form)
        if reason is not None:
            self.broken = ChainReport(
                False, self.count, self.previous_hash, broken_at=self.count + 1, reason=reason
            )
            return False
        self.previous_hash, self.count = str(form["hash"]), self.count + 1
        return True

    def report(self) -> ChainReport:
        """The first broken link, or OK with the number of entries and the head's hash."""
        return self.broken or ChainReport(True, self.count, self.previous_hash)


def check_links(forms: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Verify entries in hashed form (as stored or as exported)."""
    checker = LinkChecker()
    for form in forms:
        if not checker.step(form):
            break
    return checker.report()


async def verify_chain(db: Db) -> ChainReport:
    """Walk the whole chain, a page at a time: OK, or the first broken link (seq and why)."""
    checker = LinkChecker()
    async for form in stored_forms(db):
        if not checker.step(form):
            break
    return checker.report()


async def export_chain(db: Db) -> str:
    """The whole chain as JSON: every entry in hashed form and the verification report.

    Anyone can re-check an export offline: each `hash` is the SHA-256 of `prev_hash` + the
    canonical JSON (keys sorted, no spaces) of the entry without `hash`.
    """
    forms = [form async for form in stored_forms(db)]
    document = {
        "format": EXPORT_FORMAT,
        "verification": check_links(forms).as_dict(),
        "entries": forms,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
