"""Ledger contracts: debits, refunds and credits of a partner's prepaid balance, their result
events, and the balance, transaction and statement queries.

Ledger entries and the events about them carry no name, email or phone: a partner id, amounts
and references only, so they can be kept for the 7 years accounting law asks.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, AwareDatetime, Field

from contracts.accounts import Actor
from contracts.base import Command, Contract, Event, Query, Reply
from contracts.billing import PartnerId, refuse_card_numbers
from contracts.money import Money, PositiveMoney

OrderId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["ord_01hx3z"])]
EntryId = Annotated[str, Field(pattern=r"^led_[A-Za-z0-9_-]{1,60}$", examples=["led_01hx40"])]
CreditReference = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$",
        description="The caller's unique reference of a credit (a payment id, a ticket id); the"
        " credit is applied once per reference.",
        examples=["pi_3Nxy12"],
    ),
    AfterValidator(refuse_card_numbers),
]


class EntryKind(StrEnum):
    """What a ledger entry records."""

    DEBIT = "debit"
    REFUND = "refund"
    TOP_UP = "top_up"
    ADJUSTMENT = "adjustment"


class EntryStatus(StrEnum):
    """Where an entry stands: `pending` until the balance has taken it or refused it."""

    PENDING = "pending"
    APPLIED = "applied"
    REFUSED = "refused"


class CreditKind(StrEnum):
    """The credits a platform actor may book."""

    TOP_UP = "top_up"
    ADJUSTMENT = "adjustment"


class LedgerEntry(Contract):
    """One ledger entry as partners and services see it."""

    entry_id: EntryId
    partner_id: PartnerId
    kind: EntryKind
    amount: Money = Field(description="Signed: negative for debits and negative adjustments.")
    reference: str = Field(
        description="Unique key of the entry: `debit:<order>`, `refund:<order>`,"
        " `top_up:<ref>`, `adjustment:<ref>`.",
        examples=["debit:ord_01hx3z"],
    )
    order_id: OrderId | None = Field(default=None, description="Debits and refunds only.")
    status: EntryStatus
    created_at: datetime


class DebitBalance(Command):
    """Take the price of an order from the partner's balance, once per order.

    Answered by `accounts.balance_debited.v1` or `accounts.balance_debit_refused.v1`. A debit
    never overdraws the balance; the same order debited again changes nothing.
    """

    TYPE: ClassVar[str] = "accounts.debit_balance.v1"

    actor: Actor = Field(description="The platform service asking (provisioning).")
    partner_id: PartnerId
    order_id: OrderId
    amount: PositiveMoney


class RefundBalance(Command):
    """Give back all or part of an order's debit, once per order.

    Answered by `accounts.balance_refunded.v1` or `accounts.balance_refund_refused.v1`.
    """

    TYPE: ClassVar[str] = "accounts.refund_balance.v1"

    actor: Actor
    partner_id: PartnerId
    order_id: OrderId
    amount: PositiveMoney | None = Field(
        default=None, description="At most what was debited for the order; default: all of it."
    )


class CreditBalance(Command):
    """Book a top-up or an adjustment (platform actors only), once per reference.

    A negative adjustment is guarded like a debit. Answered by `accounts.balance_credited.v1`
    or `accounts.balance_credit_refused.v1`.
    """

    TYPE: ClassVar[str] = "accounts.credit_balance.v1"

    actor: Actor
    partner_id: PartnerId
    kind: CreditKind
    reference: CreditReference
    amount: Money = Field(description="Positive for top-ups; non-zero for adjustments.")


class BalanceDebited(Event):
    """An order's price was taken from the partner's balance."""

    TYPE: ClassVar[str] = "accounts.balance_debited.v1"

    entry: LedgerEntry
    balance: Money = Field(description="The available balance once the debit was booked.")


class BalanceDebitRefused(Event):
    """An order's debit was refused; nothing was taken."""

    TYPE: ClassVar[str] = "accounts.balance_debit_refused.v1"

    partner_id: PartnerId
    order_id: OrderId
    amount: Money
    reason: str = Field(examples=["insufficient_funds", "invalid_request", "forbidden"])
    message: str


class BalanceRefunded(Event):
    """An order's debit was given back (in whole or in part)."""

    TYPE: ClassVar[str] = "accounts.balance_refunded.v1"

    entry: LedgerEntry
    balance: Money


class BalanceRefundRefused(Event):
    """A refund was refused (no applied debit for the order, too large, ...); nothing changed."""

    TYPE: ClassVar[str] = "accounts.balance_refund_refused.v1"

    partner_id: PartnerId
    order_id: OrderId
    amount: Money | None
    reason: str = Field(examples=["not_found", "invalid_request"])
    message: str


class BalanceCredited(Event):
    """A top-up or an adjustment was booked."""

    TYPE: ClassVar[str] = "accounts.balance_credited.v1"

    entry: LedgerEntry
    balance: Money


class BalanceCreditRefused(Event):
    """A top-up or adjustment was refused; nothing changed."""

    TYPE: ClassVar[str] = "accounts.balance_credit_refused.v1"

    partner_id: PartnerId
    reference: CreditReference
    amount: Money
    reason: str = Field(examples=["insufficient_funds", "forbidden", "invalid_request"])
    message: str


class BalanceLow(Event):
    """The balance fell below a configured threshold; once per crossing downward."""

    TYPE: ClassVar[str] = "accounts.balance_low.v1"

    partner_id: PartnerId
    balance: Money
    threshold: Money


class GetBalance(Query):
    """The partner's available balance; answered by `accounts.balance.v1`."""

    TYPE: ClassVar[str] = "accounts.get_balance.v1"

    actor: Actor
    partner_id: PartnerId


class BalanceView(Reply):
    """A partner's available balance: the sum of its applied ledger entries."""

    TYPE: ClassVar[str] = "accounts.balance.v1"

    partner_id: PartnerId
    available: Money


class ListTransactions(Query):
    """A page of the partner's ledger entries created in `[period_from, period_to)`, oldest
    first; answered by `accounts.transaction_page.v1`."""

    TYPE: ClassVar[str] = "accounts.list_transactions.v1"

    actor: Actor
    partner_id: PartnerId
    period_from: AwareDatetime
    period_to: AwareDatetime
    cursor: EntryId | None = Field(default=None, description="`next_cursor` of the last page.")
    limit: int = Field(default=50, ge=1, le=200)


class TransactionPage(Reply):
    """Ledger entries, and the cursor of the next page (absent on the last one)."""

    TYPE: ClassVar[str] = "accounts.transaction_page.v1"

    data: list[LedgerEntry]
    next_cursor: EntryId | None = None


class StatementFormat(StrEnum):
    """How a statement's lines are delivered."""

    JSON = "json"
    CSV = "csv"


class GetStatement(Query):
    """The partner's statement for `[period_from, period_to)` (at most 366 days); answered by
    `accounts.statement.v1`."""

    TYPE: ClassVar[str] = "accounts.get_statement.v1"

    actor: Actor
    partner_id: PartnerId
    period_from: AwareDatetime
    period_to: AwareDatetime
    format: StatementFormat = StatementFormat.JSON


class StatementLine(Contract):
    """One applied entry of a statement, with the running balance after it."""

    entry_id: EntryId
    created_at: datetime
    kind: EntryKind
    reference: str
    order_id: OrderId | None = None
    amount: Money
    amount_decimal: str = Field(examples=["-12.50"])
    balance: Money
    balance_decimal: str = Field(examples=["87.50"])


class Statement(Reply):
    """Applied entries of a period between the opening and the closing balance.

    Lines come as `lines` (format json) or as `csv` text with a header row (format csv).
    Amounts are integer minor units, and decimal strings formatted from them.
    """

    TYPE: ClassVar[str] = "accounts.statement.v1"

    partner_id: PartnerId
    period_from: datetime
    period_to: datetime
    opening_balance: Money
    closing_balance: Money
    opening_decimal: str
    closing_decimal: str
    format: StatementFormat
    lines: list[StatementLine] = Field(default_factory=list)
    csv: str | None = None
