"""The ledger's documents and the single-document writes that keep them right.

`balances`, one per partner (`_id` = partner id), the cache of its applied entries:
    {currency, available, epoch, _outcomes: ["<entry id>:applied" | "<entry id>:refused"],
     low_marks: [thresholds the balance is below], opened_at, _outbox, _outbox_pending}
`ledger`, one per entry (`_id` = `led_…`), append-only apart from its status:
    {partner_id, kind, amount (signed minor units), currency, reference (unique), order_id?,
     status, created_at, correlation_id, settlement?: {at, balance}, _outbox, _outbox_pending}

An entry is settled by ONE conditional write of its balance: applied (`$inc`, a debit only
while `available` covers it) or refused, its outcome marker pushed in the same write, guarded
by the marker's absence and by `epoch`. The balance, not the entry, decides the outcome; the
entry records it afterwards. Markers of entries whose status is recorded are pruned now and
then (`prune_outcomes`), and each prune bumps `epoch`. A settler reads the epoch first, then
the entry's status, and writes under that epoch: if a prune came in between, the write misses
and the settler starts over, so an entry is never applied twice, however late a settler is.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument

from accounts import store
from accounts.store import Db
from contracts.ledger import EntryKind, EntryStatus, LedgerEntry
from contracts.money import Money

BALANCES = "balances"
LEDGER = store.LEDGER
OUTCOMES = "_outcomes"

Document = dict[str, Any]

ENTRY_FIELDS = {
    field: 1
    for field in (
        "partner_id",
        "kind",
        "amount",
        "currency",
        "reference",
        "order_id",
        "status",
        "created_at",
        "correlation_id",
    )
}
"""An entry without its outbox."""
SETTLE_PROJECTION = {"available": 1, "currency": 1, "epoch": 1, "low_marks": 1, OUTCOMES: 1}


async def create_indexes(db: Db) -> None:
    """References are unique; statements read by partner and time; recovery by status."""
    await db[LEDGER].create_index("reference", unique=True)
    await db[LEDGER].create_index([("partner_id", 1), ("created_at", 1)])
    await db[LEDGER].create_index("status")


def marker(entry_id: str, outcome: EntryStatus) -> str:
    """The string a balance keeps in `_outcomes` once it has applied or refused an entry."""
    return f"{entry_id}:{outcome.value}"


def markers(entry_id: str) -> list[str]:
    """Both possible outcome markers of an entry."""
    return [marker(entry_id, EntryStatus.APPLIED), marker(entry_id, EntryStatus.REFUSED)]


def outcome_in(balance: Document, entry_id: str) -> EntryStatus | None:
    """The outcome the balance recorded for the entry, if its marker is still there."""
    recorded = balance.get(OUTCOMES, [])
    for outcome in (EntryStatus.APPLIED, EntryStatus.REFUSED):
        if marker(entry_id, outcome) in recorded:
            return outcome
    return None


def is_guarded(entry: Document) -> bool:
    """Whether the entry takes money, and so may be refused (debits, negative adjustments)."""
    return int(entry["amount"]) < 0


def entry_view(document: Document, status: EntryStatus | None = None) -> LedgerEntry:
    """The wire view of a stored entry (optionally with the status it just reached)."""
    return LedgerEntry(
        entry_id=document["_id"],
        partner_id=document["partner_id"],
        kind=EntryKind(document["kind"]),
        amount=Money(amount=document["amount"], currency=document["currency"]),
        reference=document["reference"],
        order_id=document.get("order_id"),
        status=status or EntryStatus(document["status"]),
        created_at=document["created_at"],
    )


def available_of(balance: Document) -> Money:
    """The available balance as money."""
    return Money(amount=balance["available"], currency=balance["currency"])


async def read_balance(db: Db, partner_id: str) -> Document | None:
    """The partner's balance document (without its outbox), or None before its first credit."""
    return await db[BALANCES].find_one({"_id": partner_id}, SETTLE_PROJECTION)


async def entry_status(db: Db, entry_id: str) -> EntryStatus:
    """The entry's current status."""
    document = await db[LEDGER].find_one({"_id": entry_id}, {"status": 1})
    if document is None:
        raise LookupError(f"ledger entry {entry_id} does not exist")
    return EntryStatus(document["status"])


async def try_apply(db: Db, entry: Document, epoch: int) -> Document | None:
    """Apply the entry to its balance unless already settled, or an overdraft; the balance after."""
    guard: Document = {
        "_id": entry["partner_id"],
        "epoch": epoch,
        OUTCOMES: {"$nin": markers(entry["_id"])},
    }
    if is_guarded(entry):
        guard["available"] = {"$gte": -int(entry["amount"])}
    # No projection: FerretDB does not implement one in findAndModify (code 238).
    return await db[BALANCES].find_one_and_update(
        guard,
        {
            "$inc": {"available": entry["amount"]},
            "$push": {OUTCOMES: marker(entry["_id"], EntryStatus.APPLIED)},
        },
        return_document=ReturnDocument.AFTER,
    )


async def try_refuse(db: Db, entry: Document, epoch: int) -> Document | None:
    """Record that the balance refuses the entry, if it cannot cover it and has not settled it."""
    guard = {
        "_id": entry["partner_id"],
        "epoch": epoch,
        OUTCOMES: {"$nin": markers(entry["_id"])},
        "available": {"$lt": -int(entry["amount"])},
    }
    return await db[BALANCES].find_one_and_update(
        guard,
        {"$push": {OUTCOMES: marker(entry["_id"], EntryStatus.REFUSED)}},
        return_document=ReturnDocument.AFTER,
    )


async def prune_outcomes(db: Db, partner_id: str) -> int:
    """Drop the markers of entries whose status is recorded; how many were dropped.

    Guarded by `epoch` and bumping it, so it never races another prune, and any writer that
    read an entry as pending before this prune must re-read it before writing.
    """
    balance = await db[BALANCES].find_one({"_id": partner_id}, {"epoch": 1, OUTCOMES: 1})
    if balance is None or not balance.get(OUTCOMES):
        return 0
    by_entry = {item.rpartition(":")[0]: item for item in balance[OUTCOMES]}
    settled = db[LEDGER].find(
        {
            "_id": {"$in": list(by_entry)},
            "status": {"$in": [EntryStatus.APPLIED.value, EntryStatus.REFUSED.value]},
        },
        {"status": 1},
    )
    stale = [by_entry[document["_id"]] async for document in settled]
    if not stale:
        return 0
    result = await db[BALANCES].update_one(
        {"_id": partner_id, "epoch": balance["epoch"]},
        {"$pullAll": {OUTCOMES: stale}, "$inc": {"epoch": 1}},
    )
    return len(stale) if result.modified_count else 0
