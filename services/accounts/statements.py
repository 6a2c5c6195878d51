"""Reading the ledger: pages of entries, and statements of a period (JSON lines or CSV).

A period is half-open, `[period_from, period_to)`, on the entries' `created_at`. A statement
holds the applied entries only: the opening balance is the sum of those created before the
period, each line carries the running balance, and the closing balance is the last of them.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from accounts import ledger_store as ls
from accounts.ledger_store import LEDGER, Document
from accounts.store import Db
from contracts.ledger import (
    EntryKind,
    EntryStatus,
    Statement,
    StatementFormat,
    StatementLine,
    TransactionPage,
)
from contracts.money import Money, format_minor_units
from servicekit.errors import ServiceError

MAX_STATEMENT_PERIOD = timedelta(days=366)
MAX_STATEMENT_LINES = 10_000
CSV_HEADER = (
    "entry_id",
    "created_at",
    "kind",
    "reference",
    "order_id",
    "amount_minor",
    "amount",
    "currency",
    "balance_minor",
    "balance",
)


def _check_period(start: datetime, end: datetime, longest: timedelta | None = None) -> None:
    if end <= start:
        raise ServiceError("invalid_request", "period_to must be later than period_from")
    if longest is not None and end - start > longest:
        raise ServiceError("invalid_request", f"a period is at most {longest.days} days")


async def list_transactions(
    db: Db, partner_id: str, start: datetime, end: datetime, cursor: str | None, limit: int
) -> TransactionPage:
    """The partner's entries created in the period (every status), oldest first, by `_id`."""
    _check_period(start, end)
    query: Document = {"partner_id": partner_id, "created_at": {"$gte": start, "$lt": end}}
    if cursor is not None:
        query["_id"] = {"$gt": cursor}
    found = await db[LEDGER].find(query, ls.ENTRY_FIELDS).sort("_id", 1).limit(limit + 1).to_list()
    page = found[:limit]
    more = len(found) > limit
    return TransactionPage(
        data=[ls.entry_view(document) for document in page],
        next_cursor=page[-1]["_id"] if more else None,
    )


async def applied_total(db: Db, partner_id: str, before: datetime) -> int:
    """The sum of the partner's applied entries created before `before` (minor units).

    Summed here rather than by `$group`: nx-27017 compares dates wrongly in an aggregation's
    `$match` (a `$lt` on a date matches nothing), while `find` ranges on dates are pinned.
    """
    query = {
        "partner_id": partner_id,
        "status": EntryStatus.APPLIED.value,
        "created_at": {"$lt": before},
    }
    return sum([int(entry["amount"]) async for entry in db[LEDGER].find(query, {"amount": 1})])


async def statement(
    db: Db, partner_id: str, start: datetime, end: datetime, form: StatementFormat
) -> Statement:
    """The partner's statement of the period, its lines as JSON or as CSV text."""
    _check_period(start, end, MAX_STATEMENT_PERIOD)
    balance = await ls.read_balance(db, partner_id)
    if balance is None:
        raise ServiceError("not_found", "the partner has no balance yet")
    currency = balance["currency"]
    opening = await applied_total(db, partner_id, start)
    query = {
        "partner_id": partner_id,
        "status": EntryStatus.APPLIED.value,
        "created_at": {"$gte": start, "$lt": end},
    }
    cursor = db[LEDGER].find(query, ls.ENTRY_FIELDS).sort([("created_at", 1), ("_id", 1)])
    entries = await cursor.limit(MAX_STATEMENT_LINES + 1).to_list()
    if len(entries) > MAX_STATEMENT_LINES:
        raise ServiceError(
            "invalid_request", f"more than {MAX_STATEMENT_LINES} entries: ask for a shorter period"
        )
    lines = _lines(entries, opening, currency)
    closing = lines[-1].balance.amount if lines else opening
    return Statement(
        partner_id=partner_id,
        period_from=start,
        period_to=end,
        opening_balance=Money(amount=opening, currency=currency),
        closing_balance=Money(amount=closing, currency=currency),
        opening_decimal=format_minor_units(opening, currency),
        closing_decimal=format_minor_units(closing, currency),
        format=form,
        lines=lines if form is StatementFormat.JSON else [],
        csv=to_csv(lines) if form is StatementFormat.CSV else None,
    )


def _lines(entries: list[Document], opening: int, currency: str) -> list[StatementLine]:
    running = opening
    lines = []
    for entry in entries:
        running += int(entry["amount"])
        lines.append(
            StatementLine(
                entry_id=entry["_id"],
                created_at=entry["created_at"],
                kind=EntryKind(entry["kind"]),
                reference=entry["reference"],
                order_id=entry.get("order_id"),
                amount=Money(amount=entry["amount"], currency=currency),
                amount_decimal=format_minor_units(entry["amount"], currency),
                balance=Money(amount=running, currency=currency),
                balance_decimal=format_minor_units(running, currency),
            )
        )
    return lines


def utc_text(moment: datetime) -> str:
    """An instant as ISO 8601 in UTC with milliseconds: `2026-03-01T12:00:00.000Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_csv(lines: list[StatementLine]) -> str:
    """Statement lines as CSV (RFC 4180, CRLF line ends) with a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for line in lines:
        writer.writerow(
            (
                line.entry_id,
                utc_text(line.created_at),
                line.kind.value,
                line.reference,
                line.order_id or "",
                line.amount.amount,
                line.amount_decimal,
                line.amount.currency,
                line.balance.amount,
                line.balance_decimal,
            )
        )
    return out.getvalue()
