"""The account routes' endpoint functions: the partner's details, balance and ledger.

Each asks the accounts service as the calling key (`actor_of`); the partner comes only from
the key, so no call can name another partner.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from contracts.identity import GetPartner, PartnerView, UpdatePartner
from contracts.ledger import (
    BalanceView,
    GetBalance,
    GetStatement,
    ListTransactions,
    Statement,
    StatementFormat,
    TransactionPage,
)
from gateway.account_schemas import (
    AccountChanges,
    AccountStatement,
    StatementQuery,
    TransactionsQuery,
)
from gateway.api import Call, Download
from gateway.handlers import actor_of
from servicekit.bus import Bus
from servicekit.clock import utcnow

CSV = "text/csv"
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_.-]")


class AccountHandlers:
    """Endpoint functions of `/v1/account`, `/v1/balance`, `/v1/transactions`, `/v1/statements`."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def get_account(self, call: Call) -> PartnerView:
        """The calling key's partner, decrypted."""
        query = GetPartner(actor=actor_of(call), partner_id=call.principal.partner_id)
        return await self.bus.request(query, to="accounts", reply=PartnerView, timeout=self.timeout)

    async def update_account(self, call: Call) -> PartnerView:
        """Rectify the partner's details; answers the updated view."""
        body: AccountChanges = call.body
        command = UpdatePartner(
            actor=actor_of(call), partner_id=call.principal.partner_id, **body.changes()
        )
        return await self.bus.request(
            command, to="accounts", reply=PartnerView, timeout=self.timeout
        )

    async def get_balance(self, call: Call) -> BalanceView:
        """The partner's available balance."""
        query = GetBalance(actor=actor_of(call), partner_id=call.principal.partner_id)
        return await self.bus.request(query, to="accounts", reply=BalanceView, timeout=self.timeout)

    async def list_transactions(self, call: Call) -> TransactionPage:
        """A page of the partner's ledger entries of a period, oldest first."""
        asked: TransactionsQuery = call.query
        start, end = asked.period(utcnow())
        query = ListTransactions(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            period_from=start,
            period_to=end,
            cursor=asked.cursor,
            limit=asked.limit,
        )
        return await self.bus.request(
            query, to="accounts", reply=TransactionPage, timeout=self.timeout
        )

    async def get_statement(self, call: Call) -> AccountStatement | Download:
        """The partner's statement of a period, as JSON or as a CSV file."""
        asked: StatementQuery = call.query
        start, end = asked.period()
        query = GetStatement(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            period_from=start,
            period_to=end,
            format=asked.format,
        )
        statement = await self.bus.request(
            query, to="accounts", reply=Statement, timeout=self.timeout
        )
        if asked.format is StatementFormat.CSV:
            return Download(
                body=framed_csv(statement), content_type=CSV, filename=statement_filename(statement)
            )
        return AccountStatement(
            partner_id=statement.partner_id,
            period_from=statement.period_from,
            period_to=statement.period_to,
            opening_balance=statement.opening_balance,
            closing_balance=statement.closing_balance,
            opening_decimal=statement.opening_decimal,
            closing_decimal=statement.closing_decimal,
            lines=statement.lines,
        )


def framed_csv(statement: Statement) -> str:
    """The statement's CSV lines between an `opening_balance` and a `closing_balance` row.

    The rows follow the header accounts wrote (by column name), so they stay in step with it.
    """
    reader = csv.DictReader(io.StringIO(statement.csv or ""))
    rows = list(reader)
    header = list(reader.fieldnames or [])
    if not header:
        raise ValueError("the statement came without its CSV header")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, restval="")
    writer.writeheader()
    writer.writerow(_balance_row("opening_balance", statement.period_from, statement, opening=True))
    writer.writerows(rows)
    writer.writerow(_balance_row("closing_balance", statement.period_to, statement, opening=False))
    return out.getvalue()


def _balance_row(kind: str, at: datetime, statement: Statement, *, opening: bool) -> dict[str, str]:
    balance = statement.opening_balance if opening else statement.closing_balance
    decimal = statement.opening_decimal if opening else statement.closing_decimal
    return {
        "created_at": _utc_text(at),
        "kind": kind,
        "currency": balance.currency,
        "balance_minor": str(balance.amount),
        "balance": decimal,
    }


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _compact(moment: datetime) -> str:
    """`20260301` at midnight UTC, else `20260301T123000Z`."""
    moment = moment.astimezone(UTC)
    if moment.time() == datetime.min.time():
        return moment.strftime("%Y%m%d")
    return moment.strftime("%Y%m%dT%H%M%SZ")


def statement_filename(statement: Statement) -> str:
    """`statement-<partner>-<from>-<to>.csv`, with nothing a header could choke on."""
    start, end = _compact(statement.period_from), _compact(statement.period_to)
    name = f"statement-{statement.partner_id}-{start}-{end}.csv"
    return _UNSAFE_IN_FILENAME.sub("_", name)
