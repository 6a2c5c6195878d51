"""The audit trail: append-only, hash-chained entries for every state change and receipt.

Each entry is `{_id: seq, seq, at, request_id?, kind, key, detail, prev_hash, hash}`. `seq`
counts from 1 without gaps; `hash` is the SHA-256 of `prev_hash` followed by the canonical
JSON of the entry without `_id` and `hash` (`at` as UTC ISO 8601 to the millisecond), so
changing or removing any entry breaks the chain there. `seq` is kept beside `_id` because
nx-27017 sorts integer `_id`s as text (9 after 10); reads sort and page by `seq`.

Appends are safe across handlers and replicas without transactions: an append reads the
head, inserts the next `seq` as `_id`, and on a duplicate `_id` (another writer took that
seq) reads the head again and retries. `key` (unique) makes every append idempotent: an
event recorded once is never recorded twice, so a redelivered message adds nothing.
Entries hold ids, types, services and reasons only, never a subject's personal data:
erasure cannot reach an append-only log.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

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
    TASK_SENT = "task_sent"
    RECEIPT_ACCEPTED = "receipt_accepted"
    RECEIPT_REFUSED = "receipt_refused"
    REQUEST_COMPLETED = "request_completed"
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
    entries = db[AUDIT]
    for _ in range(APPEND_ATTEMPTS):
        existing = await entries.find_one({"key": key})
        if existing is not None:
            return int(existing["_id"])
        head = await entries.find_one({}, sort=[("seq", DESCENDING)])
        entry = _next_entry(head, kind, key, to_millisecond(now), request_id, detail or {})
        try:
            await entries.insert_one(entry)
        except DuplicateKeyError:
            continue
        return int(entry["_id"])
    raise AuditContention(f"could not append {kind} after {APPEND_ATTEMPTS} attempts")


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
