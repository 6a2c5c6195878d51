"""What the ledger tells others: the result event of each entry, and low-balance events.

Both travel in outboxes: a result in its entry's, written with the entry's status; a
low-balance event in the balance's, written with the mark that keeps it to once per crossing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from accounts import ledger_store as ls
from accounts.ledger_store import BALANCES, Document
from accounts.store import Db
from contracts.base import Contract
from contracts.ledger import (
    BalanceCredited,
    BalanceCreditRefused,
    BalanceDebited,
    BalanceDebitRefused,
    BalanceLow,
    BalanceRefunded,
    EntryKind,
    EntryStatus,
)
from contracts.money import Money
from servicekit.messages import Outgoing
from servicekit.outbox import add_outbox

INSUFFICIENT_FUNDS = "insufficient_funds"


def result_event(entry: Document, outcome: EntryStatus, balance: Document) -> Contract:
    """The event announcing an entry's outcome, with the balance as the outcome left it."""
    if outcome is EntryStatus.REFUSED:
        return refusal_event(entry, "the balance does not cover it")
    view, available = ls.entry_view(entry, outcome), ls.available_of(balance)
    if view.kind is EntryKind.DEBIT:
        return BalanceDebited(entry=view, balance=available)
    if view.kind is EntryKind.REFUND:
        return BalanceRefunded(entry=view, balance=available)
    return BalanceCredited(entry=view, balance=available)


def refusal_event(entry: Document, message: str) -> Contract:
    """The event announcing that the balance refused an entry (a debit or an adjustment)."""
    if entry["kind"] == EntryKind.DEBIT:
        return BalanceDebitRefused(
            partner_id=entry["partner_id"],
            order_id=entry["order_id"],
            amount=Money(amount=-int(entry["amount"]), currency=entry["currency"]),
            reason=INSUFFICIENT_FUNDS,
            message=message,
        )
    return BalanceCreditRefused(
        partner_id=entry["partner_id"],
        reference=entry["reference"].partition(":")[2],
        amount=Money(amount=entry["amount"], currency=entry["currency"]),
        reason=INSUFFICIENT_FUNDS,
        message=message,
    )


class LowBalanceWatch:
    """Raises `accounts.balance_low.v1` once per threshold crossed downward.

    The balance keeps `low_marks`, the thresholds it is below and has announced. Each mark is
    set by a write guarded by the balance being below it and the mark being absent (so the
    event is written once), and lifted by a write guarded by the balance being at or above it.
    A fresh balance (zero) starts with every mark set: opening one is not news.
    """

    def __init__(self, db: Db, thresholds: Sequence[int]) -> None:
        self.db = db
        self.thresholds = sorted({t for t in thresholds if t > 0}, reverse=True)

    async def check(self, balance: Document, outgoing: Callable[[Contract], Outgoing]) -> int:
        """Set or lift the marks the balance calls for; how many low-balance events it wrote."""
        available, marks = balance["available"], balance.get("low_marks", [])
        partner_id, written = balance["_id"], 0
        for threshold in self.thresholds:
            if available < threshold and threshold not in marks:
                event = BalanceLow(
                    partner_id=partner_id,
                    balance=ls.available_of(balance),
                    threshold=Money(amount=threshold, currency=balance["currency"]),
                )
                result = await self.db[BALANCES].update_one(
                    {
                        "_id": partner_id,
                        "available": {"$lt": threshold},
                        "low_marks": {"$nin": [threshold]},
                    },
                    add_outbox({"$addToSet": {"low_marks": threshold}}, outgoing(event)),
                )
                written += result.modified_count
            elif available >= threshold and threshold in marks:
                await self.db[BALANCES].update_one(
                    {"_id": partner_id, "available": {"$gte": threshold}, "low_marks": threshold},
                    {"$pull": {"low_marks": threshold}},
                )
        return written
