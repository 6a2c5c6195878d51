"""Billing handlers of the accounts service: ledger commands, balance and statement queries,
the billing profile. Every handler checks its permission first (`permissions.require`).

Commands answer with events: the ledger's own results travel in its outbox; a command refused
before anything was written (bad terms, no permission) is answered by a refusal published at
once, before the command is acknowledged.
"""

from __future__ import annotations

import structlog

from accounts import billing, ledger_store, statements
from accounts.ledger import Ledger
from accounts.ledger_store import BALANCES, LEDGER
from accounts.permissions import Permission, require
from accounts.settings import AccountsSettings
from accounts.store import Db
from contracts.base import Contract
from contracts.billing import BillingProfileView, GetBillingProfile, SetBillingProfile
from contracts.ledger import (
    BalanceCreditRefused,
    BalanceDebitRefused,
    BalanceRefundRefused,
    BalanceView,
    CreditBalance,
    DebitBalance,
    GetBalance,
    GetStatement,
    ListTransactions,
    RefundBalance,
    Statement,
    TransactionPage,
)
from contracts.money import Money
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.vault import Vault

log = structlog.get_logger("accounts.billing")


def make_ledger(service: Service, settings: AccountsSettings) -> Ledger:
    """The service's one ledger, its result events relayed by the service's outbox."""
    return Ledger(
        service.db,
        service.bus,
        low_balance_thresholds=settings.low_balance_thresholds,
    )


def register(service: Service, ledger: Ledger, vault: Vault) -> None:
    """Wire billing into the accounts service: handlers, indexes, outbox, recovery job."""
    handlers = BillingHandlers(ledger=ledger, bus=service.bus, db=service.db, vault=vault)
    for collection in (LEDGER, BALANCES):
        if collection not in service.outbox.collections:
            service.outbox.collections.append(collection)
    service.startup.append(lambda: ledger_store.create_indexes(service.db))
    service.background.append(ledger.keep_recovering)
    router = service.router
    router.on(DebitBalance, handlers.debit)
    router.on(RefundBalance, handlers.refund)
    router.on(CreditBalance, handlers.credit)
    router.answer(GetBalance, handlers.get_balance)
    router.answer(ListTransactions, handlers.list_transactions)
    router.answer(GetStatement, handlers.get_statement)
    router.answer(SetBillingProfile, handlers.set_billing_profile)
    router.answer(GetBillingProfile, handlers.get_billing_profile)


class BillingHandlers:
    """Thin adapters: check the permission, call the ledger or the profile, answer."""

    def __init__(self, *, ledger: Ledger, bus: Bus, db: Db, vault: Vault) -> None:
        self.ledger = ledger
        self.bus = bus
        self.db = db
        self.vault = vault

    async def debit(self, command: DebitBalance, context: MessageContext) -> None:
        """Debit an order; a refusal that wrote nothing is published at once."""
        try:
            require(command.actor, Permission.LEDGER_ADJUST, command.partner_id)
            await self.ledger.debit(command.partner_id, command.order_id, command.amount, utcnow())
        except ServiceError as refusal:
            await self._refused(
                refusal,
                context,
                BalanceDebitRefused(
                    partner_id=command.partner_id,
                    order_id=command.order_id,
                    amount=_money(command.amount),
                    reason=refusal.code,
                    message=refusal.message,
                ),
            )

    async def refund(self, command: RefundBalance, context: MessageContext) -> None:
        """Refund an order's debit; a refusal that wrote nothing is published at once."""
        try:
            require(command.actor, Permission.LEDGER_ADJUST, command.partner_id)
            await self.ledger.refund(command.partner_id, command.order_id, command.amount, utcnow())
        except ServiceError as refusal:
            await self._refused(
                refusal,
                context,
                BalanceRefundRefused(
                    partner_id=command.partner_id,
                    order_id=command.order_id,
                    amount=_money(command.amount) if command.amount else None,
                    reason=refusal.code,
                    message=refusal.message,
                ),
            )

    async def credit(self, command: CreditBalance, context: MessageContext) -> None:
        """Top up or adjust (platform only); a refusal that wrote nothing is published."""
        try:
            require(command.actor, Permission.LEDGER_ADJUST, command.partner_id)
            await self.ledger.credit(
                command.partner_id, command.kind, command.reference, command.amount, utcnow()
            )
        except ServiceError as refusal:
            await self._refused(
                refusal,
                context,
                BalanceCreditRefused(
                    partner_id=command.partner_id,
                    reference=command.reference,
                    amount=command.amount,
                    reason=refusal.code,
                    message=refusal.message,
                ),
            )

    async def _refused(
        self, refusal: ServiceError, context: MessageContext, event: Contract
    ) -> None:
        if refusal.code == "conflict":
            # The reference was booked with other terms: that outcome stands and was announced.
            log.error("ledger_command_conflicts", message_type=context.type, reason=refusal.message)
            return
        await self.bus.publish(event, correlation_id=context.correlation_id)

    async def get_balance(self, query: GetBalance, _context: MessageContext) -> BalanceView:
        """The partner's available balance."""
        require(query.actor, Permission.BILLING_READ, query.partner_id)
        return await self.ledger.balance(query.partner_id)

    async def list_transactions(
        self, query: ListTransactions, _context: MessageContext
    ) -> TransactionPage:
        """A page of the partner's ledger entries of a period."""
        require(query.actor, Permission.BILLING_READ, query.partner_id)
        return await statements.list_transactions(
            self.db, query.partner_id, query.period_from, query.period_to, query.cursor, query.limit
        )

    async def get_statement(self, query: GetStatement, _context: MessageContext) -> Statement:
        """The partner's statement of a period, as JSON lines or CSV."""
        require(query.actor, Permission.BILLING_READ, query.partner_id)
        return await statements.statement(
            self.db, query.partner_id, query.period_from, query.period_to, query.format
        )

    async def set_billing_profile(
        self, query: SetBillingProfile, _context: MessageContext
    ) -> BillingProfileView:
        """Set the partner's billing profile."""
        require(query.actor, Permission.BILLING_MANAGE, query.partner_id)
        return await billing.set_profile(self.db, self.vault, query, utcnow())

    async def get_billing_profile(
        self, query: GetBillingProfile, _context: MessageContext
    ) -> BillingProfileView:
        """The partner's billing profile."""
        require(query.actor, Permission.BILLING_READ, query.partner_id)
        return await billing.get_profile(self.db, self.vault, query.partner_id)


def _money(amount: Money) -> Money:
    return Money(amount=amount.amount, currency=amount.currency)
