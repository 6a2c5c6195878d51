"""The balance ledger: debits, refunds and credits, each booked once per reference, never
overdrawing the balance, each result event written in the same write as the entry's status.

Booking an entry: (1) insert it `pending` (its reference is unique: the same debit again finds
the entry already there); (2) settle it against the balance with one conditional write (see
`ledger_store`); (3) record the outcome in the entry together with the result event (outbox).
A crash between the steps leaves a pending entry that `recover_pending` finishes; settling is
safe to repeat and to run concurrently, so a redelivered command may finish it too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from pymongo.errors import DuplicateKeyError

from accounts import ledger_store as ls
from accounts.ledger_events import LowBalanceWatch, refusal_event, result_event
from accounts.ledger_store import BALANCES, LEDGER, OUTCOMES, Document
from accounts.store import Db
from contracts.base import Contract
from contracts.ledger import (
    BalanceView,
    CreditKind,
    EntryKind,
    EntryStatus,
    LedgerEntry,
)
from contracts.money import Money
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.correlation import current_correlation_id
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.messages import Outgoing
from servicekit.outbox import add_outbox, with_outbox

log = structlog.get_logger("accounts.ledger")

RECOVERY_AGE = timedelta(seconds=30)
"""Pending entries older than this are finished by recovery (younger ones are in flight)."""
RECOVERY_INTERVAL_SECONDS = 15.0
PRUNE_EVERY = 64
"""A balance prunes its outcome markers each time it has gathered this many more."""
SETTLE_ATTEMPTS = 20
RECOVERY_BATCH = 100

SAME_REQUEST_FIELDS = ("partner_id", "kind", "amount", "currency", "order_id")
NO_BALANCE = "the partner has no balance yet"


class LedgerBusy(Exception):
    """The entry cannot be settled right now (contention, or a debit still pending): retry."""


def _same_currency(balance: Document, currency: str) -> None:
    if balance["currency"] != currency:
        raise ServiceError(
            "invalid_request", f"the partner's balance is kept in {balance['currency']}"
        )


class Ledger:
    """A partner's balance and the entries it is the sum of."""

    def __init__(
        self,
        db: Db,
        bus: Bus,
        *,
        low_balance_thresholds: Sequence[int],
        prune_every: int = PRUNE_EVERY,
    ) -> None:
        self.db = db
        self.bus = bus
        self.low_balance = LowBalanceWatch(db, low_balance_thresholds)
        self.prune_every = prune_every

    async def open_balance(self, partner_id: str, currency: str, now: datetime) -> BalanceView:
        """Open the partner's balance at zero in its currency; idempotent, never changes it."""
        document = {
            "_id": partner_id,
            "currency": currency,
            "available": 0,
            "epoch": 0,
            OUTCOMES: [],
            "low_marks": list(self.low_balance.thresholds),
            "opened_at": now,
        }
        with contextlib.suppress(DuplicateKeyError):
            await self.db[BALANCES].insert_one(with_outbox(document))
        balance = await ls.read_balance(self.db, partner_id)
        assert balance is not None  # balances are never deleted
        if balance["currency"] != currency:
            raise ServiceError(
                "conflict", f"the partner's balance is kept in {balance['currency']}"
            )
        return BalanceView(partner_id=partner_id, available=ls.available_of(balance))

    async def balance(self, partner_id: str) -> BalanceView:
        """The partner's available balance."""
        balance = await ls.read_balance(self.db, partner_id)
        if balance is None:
            raise ServiceError("not_found", NO_BALANCE)
        return BalanceView(partner_id=partner_id, available=ls.available_of(balance))

    async def debit(
        self, partner_id: str, order_id: str, amount: Money, now: datetime
    ) -> LedgerEntry:
        """Take an order's price, once per order; refused (and recorded so) if it does not fit."""
        if amount.amount <= 0:
            raise ServiceError("invalid_request", "a debit is a positive amount")
        entry = self._new_entry(partner_id, EntryKind.DEBIT, -amount.amount, amount.currency, now)
        entry |= {"reference": f"debit:{order_id}", "order_id": order_id}
        balance = await ls.read_balance(self.db, partner_id)
        if balance is None:
            return await self._refuse_at_once(entry, now)
        _same_currency(balance, amount.currency)
        return await self._book(entry, balance, now)

    async def refund(
        self, partner_id: str, order_id: str, amount: Money | None, now: datetime
    ) -> LedgerEntry:
        """Give back an applied debit, in whole (default) or in part, once per order."""
        debit = await self.db[LEDGER].find_one({"reference": f"debit:{order_id}"}, ls.ENTRY_FIELDS)
        if debit is None or debit["partner_id"] != partner_id:
            raise ServiceError("not_found", "no debit of this order for this partner")
        if debit["status"] == EntryStatus.PENDING:
            raise LedgerBusy("the order's debit is not settled yet")
        if debit["status"] == EntryStatus.REFUSED:
            raise ServiceError(
                "invalid_request", "the order's debit was refused: nothing to refund"
            )
        debited = Money(amount=-debit["amount"], currency=debit["currency"])
        refund = amount or debited
        if refund.currency != debited.currency:
            raise ServiceError("invalid_request", f"the debit was in {debited.currency}")
        if not 0 < refund.amount <= debited.amount:
            raise ServiceError(
                "invalid_request", f"a refund is positive and at most the debit ({debited.amount})"
            )
        entry = self._new_entry(partner_id, EntryKind.REFUND, refund.amount, refund.currency, now)
        entry |= {"reference": f"refund:{order_id}", "order_id": order_id}
        balance = await ls.read_balance(self.db, partner_id)
        if balance is None:
            raise ServiceError("not_found", NO_BALANCE)
        return await self._book(entry, balance, now)

    async def credit(
        self, partner_id: str, kind: CreditKind, reference: str, amount: Money, now: datetime
    ) -> LedgerEntry:
        """Book a top-up (positive) or an adjustment (non-zero; negative ones are guarded)."""
        if amount.amount <= 0 and kind is CreditKind.TOP_UP:
            raise ServiceError("invalid_request", "a top-up is a positive amount")
        if amount.amount == 0:
            raise ServiceError("invalid_request", "an adjustment of zero changes nothing")
        balance = await ls.read_balance(self.db, partner_id)
        if balance is None and amount.amount > 0:
            await self.open_balance(partner_id, amount.currency, now)
            balance = await ls.read_balance(self.db, partner_id)
        if balance is None:
            raise ServiceError("not_found", NO_BALANCE)
        _same_currency(balance, amount.currency)
        entry = self._new_entry(partner_id, EntryKind(kind), amount.amount, amount.currency, now)
        entry["reference"] = f"{kind.value}:{reference}"
        return await self._book(entry, balance, now)

    async def recover_pending(self, now: datetime, *, older_than: timedelta = RECOVERY_AGE) -> int:
        """Finish entries left pending (by a crash) for longer than `older_than`; how many."""
        pending = self.db[LEDGER].find(
            {"status": EntryStatus.PENDING.value, "created_at": {"$lt": now - older_than}},
            ls.ENTRY_FIELDS,
        )
        entries = await pending.sort("_id", 1).limit(RECOVERY_BATCH).to_list()
        finished = 0
        for entry in entries:
            try:
                await self._settle(entry, now, epoch=None)
            except LedgerBusy:
                log.warning("ledger_entry_still_busy", entry_id=entry["_id"])
                continue
            finished += 1
        if entries:
            log.info("ledger_pending_recovered", finished=finished, found=len(entries))
        return finished

    async def keep_recovering(self, interval: float = RECOVERY_INTERVAL_SECONDS) -> None:
        """Recover pending entries now and then every `interval` seconds (a background job)."""
        while True:
            try:
                await self.recover_pending(utcnow())
            except Exception:
                log.exception("ledger_recovery_failed")
            await asyncio.sleep(interval)

    @staticmethod
    def _new_entry(
        partner_id: str, kind: EntryKind, amount: int, currency: str, now: datetime
    ) -> Document:
        """A pending entry; the caller adds its reference (and order id)."""
        return {
            "_id": new_id("led"),
            "partner_id": partner_id,
            "kind": kind.value,
            "amount": amount,
            "currency": currency,
            "status": EntryStatus.PENDING.value,
            "created_at": now,
            "correlation_id": current_correlation_id(),
        }

    async def _book(self, entry: Document, balance: Document, now: datetime) -> LedgerEntry:
        try:
            await self.db[LEDGER].insert_one(with_outbox(entry))
        except DuplicateKeyError:
            return await self._again(entry, now)
        # The epoch was read before the insert, so it is older than the entry: safe to settle.
        return await self._settle(entry, now, epoch=balance["epoch"])

    async def _again(self, entry: Document, now: datetime) -> LedgerEntry:
        """The reference was booked before: the same request gets that entry (finished if it was
        left pending), different terms are a conflict."""
        existing = await self.db[LEDGER].find_one(
            {"reference": entry["reference"]}, ls.ENTRY_FIELDS
        )
        if existing is None:
            raise LedgerBusy(f"entry {entry['reference']} is being written")
        if any(existing.get(field) != entry.get(field) for field in SAME_REQUEST_FIELDS):
            raise ServiceError("conflict", f"{entry['reference']} was booked with other terms")
        if existing["status"] != EntryStatus.PENDING:
            return ls.entry_view(existing)
        return await self._settle(existing, now, epoch=None)

    async def _refuse_at_once(self, entry: Document, now: datetime) -> LedgerEntry:
        """Record a debit refused before any balance exists, with its refusal event."""
        entry = {**entry, "status": EntryStatus.REFUSED.value}
        event = refusal_event(entry, NO_BALANCE)
        try:
            await self.db[LEDGER].insert_one(with_outbox(entry, self._outgoing(event, entry)))
        except DuplicateKeyError:
            return await self._again(entry, now)
        return ls.entry_view(entry)

    async def _settle(self, entry: Document, now: datetime, *, epoch: int | None) -> LedgerEntry:
        """Apply or refuse a pending entry exactly once, whoever else is settling it."""
        for _ in range(SETTLE_ATTEMPTS):
            if epoch is None:
                balance = await ls.read_balance(self.db, entry["partner_id"])
                if balance is None:
                    raise LedgerBusy(f"entry {entry['_id']} has no balance")
                # Read the epoch before the status: see ledger_store.prune_outcomes.
                status = await ls.entry_status(self.db, entry["_id"])
                if status is not EntryStatus.PENDING:
                    return ls.entry_view(entry, status)
                epoch = int(balance["epoch"])
            after = await ls.try_apply(self.db, entry, epoch)
            if after is not None:
                return await self._finish(entry, EntryStatus.APPLIED, after, now, fresh=True)
            if ls.is_guarded(entry):
                after = await ls.try_refuse(self.db, entry, epoch)
                if after is not None:
                    return await self._finish(entry, EntryStatus.REFUSED, after, now, fresh=True)
            balance = await ls.read_balance(self.db, entry["partner_id"])
            outcome = ls.outcome_in(balance, entry["_id"]) if balance else None
            if balance is not None and outcome is not None:
                return await self._finish(entry, outcome, balance, now, fresh=False)
            epoch = None
        raise LedgerBusy(f"entry {entry['_id']} could not be settled in {SETTLE_ATTEMPTS} tries")

    async def _finish(
        self,
        entry: Document,
        outcome: EntryStatus,
        balance: Document,
        now: datetime,
        *,
        fresh: bool,
    ) -> LedgerEntry:
        """Record the outcome in the entry with its result event, then watch the thresholds."""
        event = result_event(entry, outcome, balance)
        update = add_outbox(
            {
                "$set": {
                    "status": outcome.value,
                    "settlement": {"at": now, "balance": balance["available"]},
                }
            },
            self._outgoing(event, entry),
        )
        await self.db[LEDGER].update_one(
            {"_id": entry["_id"], "status": EntryStatus.PENDING.value}, update
        )
        if outcome is EntryStatus.APPLIED:
            await self.low_balance.check(balance, lambda low: self._outgoing(low, entry))
        if fresh and len(balance.get(OUTCOMES, [])) % self.prune_every == 0:
            await ls.prune_outcomes(self.db, entry["partner_id"])
        return ls.entry_view(entry, outcome)

    def _outgoing(self, event: Contract, entry: Document) -> Outgoing:
        return self.bus.outgoing(event, correlation_id=entry["correlation_id"])
