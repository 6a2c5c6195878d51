"""The flow of an order or a top-up after it was stored, driven by accounts' answers.

    awaiting_funds --debited--> allocating --provider done--> completed
          |                          |
       refused                provider failed --refund--> refunding --refunded--> failed
          v
        failed

Each step is a conditional update on the purchase's state, carrying the messages it causes in
the same write (outbox), so a redelivered or duplicated event moves nothing twice. The
provider is asked with the purchase id as its idempotency key: asking again after a crash or
a timeout returns what it did the first time. A provider that is unavailable or times out is
asked again on the bus's retry schedule; after the last attempt the purchase fails and its
funds are returned. Finished purchases are told to the partner's webhooks (order.completed,
order.failed), idempotently on the purchase id.
"""

from __future__ import annotations

from typing import Any

import structlog
from pymongo import ReturnDocument

from contracts.base import Contract
from contracts.ledger import (
    BalanceDebited,
    BalanceDebitRefused,
    BalanceRefunded,
    BalanceRefundRefused,
    RefundBalance,
)
from contracts.money import Money
from contracts.orders import (
    FailureReason,
    OrderCompleted,
    OrderFailed,
    PurchaseStep,
    TopupCompleted,
    TopupFailed,
)
from provisioning import catalogue_store, esim_store
from provisioning.modes import LIVE
from provisioning.provider import (
    NetworkProvider,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from provisioning.purchase_store import Document, Kind, State, outcome_webhook, transition
from provisioning.purchases import PROVISIONING
from provisioning.store import ORDERS, Db
from provisioning.webhooks import Webhooks, enqueue_delivery
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.messages import MessageContext
from servicekit.outbox import add_outbox
from servicekit.vault import Vault

log = structlog.get_logger("provisioning.purchases")


class PurchaseFlow:
    """The handlers of accounts' debit and refund results, and the provider step between."""

    def __init__(
        self,
        *,
        db: Db,
        bus: Bus,
        vault: Vault,
        provider: NetworkProvider,
        webhooks: Webhooks | None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.vault = vault
        self.provider = provider
        self.webhooks = webhooks

    async def on_debited(self, event: BalanceDebited, context: MessageContext) -> None:
        """The funds are reserved: ask the provider (again, if a crash interrupted it)."""
        purchase = await self._allocating(event.entry.order_id)
        if purchase is None:
            return
        if purchase["state"] == State.ALLOCATING:
            await self._fulfil(purchase, context)
        else:
            await self._notify(purchase)  # finished before a crash cut the telling short

    async def on_debit_refused(self, event: BalanceDebitRefused, _context: MessageContext) -> None:
        """Nothing was taken: the purchase fails at once."""
        purchase = await self._find(event.order_id)
        if purchase is None or purchase["state"] != State.AWAITING_FUNDS:
            await self._notify(purchase)
            return
        reason = (
            FailureReason.INSUFFICIENT_FUNDS
            if event.reason == "insufficient_funds"
            else FailureReason.PAYMENT_REFUSED
        )
        failure = _failure(reason, event.message, funds_returned=False)
        await self._finish_failed(purchase, [PurchaseStep.FUNDS_REFUSED], failure)

    async def on_refunded(self, event: BalanceRefunded, _context: MessageContext) -> None:
        """The funds came back: the purchase has failed."""
        purchase = await self._find(event.entry.order_id)
        if purchase is None or purchase["state"] != State.REFUNDING:
            await self._notify(purchase)
            return
        failure = {**purchase["failure"], "funds_returned": True}
        await self._finish_failed(purchase, [PurchaseStep.FUNDS_RETURNED], failure)

    async def on_refund_refused(
        self, event: BalanceRefundRefused, _context: MessageContext
    ) -> None:
        """A refund that accounts refused needs a person: fail the purchase, say so loudly."""
        purchase = await self._find(event.order_id)
        if purchase is None or purchase["state"] != State.REFUNDING:
            return
        log.error("refund_refused", purchase_id=purchase["_id"], reason=event.reason)
        await self._finish_failed(purchase, [], purchase["failure"])

    async def _fulfil(self, purchase: Document, context: MessageContext) -> None:
        """Ask the provider; complete, or fail and return the funds."""
        try:
            done, countries = await self._ask_provider(purchase)
        except ProviderRejected as refusal:
            await self._refund(purchase, FailureReason.PROVIDER_REJECTED, str(refusal))
        except (ProviderTimeout, ProviderUnavailable) as trouble:
            if not context.final_attempt:
                raise  # the bus asks again after its backoff; the key makes that safe
            reason = (
                FailureReason.PROVIDER_TIMEOUT
                if isinstance(trouble, ProviderTimeout)
                else FailureReason.PROVIDER_UNAVAILABLE
            )
            await self._refund(purchase, reason, str(trouble))
        else:
            await self._complete(purchase, done, countries)

    async def _ask_provider(self, purchase: Document) -> tuple[list[str], list[str]]:
        """The ICCIDs the provider allocated (an order) or topped up (a top-up), and the
        countries of the package."""
        package = await catalogue_store.find_package(self.db, purchase["package_id"])
        assert package is not None  # checked when the purchase was created; never deleted
        now = utcnow()
        if purchase["kind"] == Kind.TOPUP:
            iccid = purchase["iccids"][0]
            await self.provider.topup(iccid, package.id, purchase["_id"])
            esim = await esim_store.find_own(self.db, purchase["partner_id"], iccid)
            if esim is not None:
                await esim_store.apply_topup(self.db, esim, purchase["_id"], package, now)
            return [iccid], package.countries
        profiles = await self.provider.allocate(package.id, purchase["quantity"], purchase["_id"])
        for position, profile in enumerate(profiles):
            document = await esim_store.esim_document(
                self.vault,
                profile=profile,
                position=position,
                partner_id=purchase["partner_id"],
                order_id=purchase["_id"],
                package=package,
                now=now,
                mode=purchase.get("mode", LIVE),
            )
            await esim_store.insert_once(self.db, document)
        return [profile.iccid for profile in profiles], package.countries

    async def _complete(self, purchase: Document, iccids: list[str], countries: list[str]) -> None:
        now = utcnow()
        event: Contract
        if purchase["kind"] == Kind.ORDER:
            event = OrderCompleted(
                order_id=purchase["_id"],
                partner_id=purchase["partner_id"],
                package_id=purchase["package_id"],
                iccids=iccids,
                total=Money.model_validate(purchase["total"]),
                completed_at=now,
                countries=countries,
            )
        else:
            event = TopupCompleted(
                topup_id=purchase["_id"],
                partner_id=purchase["partner_id"],
                iccid=iccids[0],
                package_id=purchase["package_id"],
                total=Money.model_validate(purchase["total"]),
                completed_at=now,
            )
        steps = [PurchaseStep.PROVIDER_DONE, PurchaseStep.COMPLETED]
        done = await self._move(purchase, State.COMPLETED, steps, {"iccids": iccids}, [event])
        await self._notify(done)

    async def _refund(self, purchase: Document, reason: FailureReason, message: str) -> None:
        """The provider step failed: ask accounts for the funds back."""
        log.warning("purchase_provider_failed", purchase_id=purchase["_id"], reason=reason.value)
        refund = RefundBalance(
            actor=PROVISIONING, partner_id=purchase["partner_id"], order_id=purchase["_id"]
        )
        await self._move(
            purchase,
            State.REFUNDING,
            [PurchaseStep.PROVIDER_FAILED],
            {"failure": _failure(reason, message, funds_returned=False)},
            [refund],
        )

    async def _finish_failed(
        self, purchase: Document, steps: list[PurchaseStep], failure: Document
    ) -> None:
        now = utcnow()
        reason = FailureReason(failure["reason"])
        event: Contract
        if purchase["kind"] == Kind.ORDER:
            event = OrderFailed(
                order_id=purchase["_id"],
                partner_id=purchase["partner_id"],
                reason=reason,
                failed_at=now,
            )
        else:
            event = TopupFailed(
                topup_id=purchase["_id"],
                partner_id=purchase["partner_id"],
                iccid=purchase["iccids"][0],
                reason=reason,
                failed_at=now,
            )
        failed = await self._move(
            purchase, State.FAILED, [*steps, PurchaseStep.FAILED], {"failure": failure}, [event]
        )
        await self._notify(failed)

    async def _allocating(self, purchase_id: str | None) -> Document | None:
        """The purchase moved from awaiting its funds to allocating, in one conditional write
        (no read first: this is the usual case); else as it stands, or None if not ours."""
        if purchase_id is None:
            return None
        moved = await self._try_move(
            purchase_id, State.AWAITING_FUNDS, State.ALLOCATING, [PurchaseStep.FUNDS_RESERVED]
        )
        return moved if moved is not None else await self._find(purchase_id)

    async def _move(
        self,
        purchase: Document,
        to: State,
        steps: list[PurchaseStep],
        fields: Document,
        messages: list[Contract],
    ) -> Document:
        """Move the purchase on from the state it was read in, with the messages this causes;
        the purchase as it is now (unchanged if a concurrent copy moved it first)."""
        moved = await self._try_move(
            purchase["_id"], State(purchase["state"]), to, steps, fields, messages
        )
        if moved is not None:
            return moved
        current = await self._find(purchase["_id"])  # a concurrent copy moved it first
        assert current is not None  # purchases are deleted only after seven years
        return current

    async def _try_move(
        self,
        purchase_id: str,
        since: State,
        to: State,
        steps: list[PurchaseStep],
        fields: Document | None = None,
        messages: list[Contract] | None = None,
    ) -> Document | None:
        """The purchase after moving it from `since` to `to`; None if it is not in `since`."""
        now = utcnow()
        update: Document = {
            "$set": {"state": to.value, **(fields or {})},
            "$addToSet": {"transitions": {"$each": [transition(step, now) for step in steps]}},
        }
        outgoing = [self._outgoing(message) for message in messages or []]
        if outgoing:
            update = add_outbox(update, *outgoing)
        return await self.db[ORDERS].find_one_and_update(
            {"_id": purchase_id, "state": since.value},
            update,
            return_document=ReturnDocument.AFTER,
        )

    def _outgoing(self, message: Contract) -> Any:
        to = "accounts" if message.KIND == "command" else None
        return self.bus.outgoing(message, to=to)

    async def _notify(self, purchase: Document | None) -> None:
        """Tell the partner's webhooks how an order ended (once per order and endpoint)."""
        if self.webhooks is None or purchase is None or purchase["kind"] != Kind.ORDER:
            return
        outcome = outcome_webhook(purchase)
        if outcome is None:
            return
        event_type, payload = outcome
        await enqueue_delivery(
            self.webhooks,
            purchase["partner_id"],
            event_type,
            payload,
            source_id=f"{purchase['_id']}:{purchase['state']}",
        )

    async def _find(self, purchase_id: str | None) -> Document | None:
        """The purchase, or None (a debit or refund of no purchase of ours)."""
        if purchase_id is None:
            return None
        return await self.db[ORDERS].find_one({"_id": purchase_id})


def _failure(reason: FailureReason, message: str, *, funds_returned: bool) -> Document:
    return {"reason": reason.value, "message": message, "funds_returned": funds_returned}
