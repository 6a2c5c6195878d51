"""The privacy-command framework: a service answers for its own personal data.

A data-owning service declares its inventory and implements `PrivacyHandler`; `join_privacy`
registers the privacy commands for it. The framework makes every task idempotent (a receipt
keyed by task id, written together with the outgoing result), retries failures with backoff
and reports a task that keeps failing as failed rather than leaving it open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.privacy import (
    CategoryOutcome,
    DataCategory,
    EraseSubject,
    ExportSubject,
    InventoryAnnounced,
    InventoryRequested,
    LocateSubject,
    PrivacyAction,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.messages import MessageContext
from servicekit.outbox import OutboxRelay, with_outbox
from servicekit.receipts import ReceiptSigner, to_millisecond
from servicekit.router import Router
from servicekit.settings import ServiceSettings

RECEIPTS = "_privacy_receipts"

log = structlog.get_logger("servicekit.privacy")


class PrivacyHandler(Protocol):
    """What a data-owning service implements to join the privacy fan-out."""

    async def locate(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """Which categories of the subject's data are held, and how many records."""

    async def export(self, subject: SubjectRef) -> dict[str, Any]:
        """Everything held about the subject: readable field names, decrypted values."""

    async def erase(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """Erase per category: delete, pseudonymise, or retain under a legal obligation."""

    async def restrict(
        self, subject: SubjectRef, *, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Set or lift the restriction flag on the subject's data."""

    async def rectify(self, subject: SubjectRef, changes: dict[str, str]) -> list[CategoryOutcome]:
        """Replace inaccurate fields with corrected values and record the change."""


SubjectCommand = LocateSubject | ExportSubject | EraseSubject | RestrictSubject | RectifySubject
Action = Callable[[Any], Awaitable[tuple[list[CategoryOutcome], dict[str, Any] | None]]]


class MissingSigningKey(RuntimeError):
    """A data-owning service started without its receipt signing key."""


def receipt_signer(service: str, settings: ServiceSettings) -> ReceiptSigner:
    """The service's receipt signer from `RECEIPT_SIGNING_KEY`; a clear error when it is unset."""
    if settings.receipt_signing_key is None:
        raise MissingSigningKey(
            f"{service} joins the privacy fan-out and needs RECEIPT_SIGNING_KEY: its own Ed25519"
            " key, base64 of 32 raw bytes (servicekit.receipts.generate_signing_key)"
        )
    return ReceiptSigner.from_secret(settings.receipt_signing_key.get_secret_value())


def inventory_announcement(
    service: str, inventory: list[DataCategory], signer: ReceiptSigner
) -> InventoryAnnounced:
    """The inventory with the public key the service's receipts verify against."""
    return InventoryAnnounced(
        service=service,
        categories=inventory,
        receipt_public_key=signer.public_key,
        receipt_key_id=signer.key_id,
    )


def join_privacy(
    *,
    router: Router,
    service: str,
    inventory: list[DataCategory],
    handler: PrivacyHandler,
    db: AsyncDatabase[dict[str, Any]],
    bus: Bus,
    relay: OutboxRelay,
    signer: ReceiptSigner,
) -> None:
    """Register the privacy commands and inventory requests of a data-owning service."""
    receipts = db[RECEIPTS]
    if RECEIPTS not in relay.collections:
        relay.collections.append(RECEIPTS)

    async def run_task(
        command: SubjectCommand, context: MessageContext, action: PrivacyAction, work: Action
    ) -> None:
        if await receipts.find_one({"_id": command.task_id}, {"_id": 1}) is not None:
            return
        outcomes: list[CategoryOutcome] = []
        export: dict[str, Any] | None = None
        error: str | None = None
        try:
            outcomes, export = await work(command)
        except Exception as failure:
            if not context.final_attempt:
                raise
            log.error("privacy_task_failed", action=action, error=repr(failure))
            error = f"{type(failure).__name__}: the service could not complete the task"
        unsigned = PrivacyTaskCompleted(
            request_id=command.request_id,
            task_id=command.task_id,
            service=service,
            action=action,
            succeeded=error is None,
            outcomes=outcomes,
            export=export,
            error=error,
            completed_at=to_millisecond(utcnow()),
        )
        result = signer.sign(unsigned)
        receipt = {
            "_id": command.task_id,
            "request_id": command.request_id,
            "action": action.value,
            "succeeded": error is None,
            "outcomes": [o.model_dump(mode="json") for o in outcomes],
            "completed_at": result.completed_at,
            "signature": result.signature,
            "key_id": result.key_id,
        }
        outgoing = bus.outgoing(result, correlation_id=context.correlation_id)
        try:
            await receipts.insert_one(with_outbox(receipt, outgoing))
        except DuplicateKeyError:
            return

    async def locate(command: LocateSubject, context: MessageContext) -> None:
        async def work(c: LocateSubject) -> tuple[list[CategoryOutcome], None]:
            return await handler.locate(c.subject), None

        await run_task(command, context, PrivacyAction.LOCATE, work)

    async def export(command: ExportSubject, context: MessageContext) -> None:
        async def work(c: ExportSubject) -> tuple[list[CategoryOutcome], dict[str, Any]]:
            return await handler.locate(c.subject), await handler.export(c.subject)

        await run_task(command, context, PrivacyAction.EXPORT, work)

    async def erase(command: EraseSubject, context: MessageContext) -> None:
        async def work(c: EraseSubject) -> tuple[list[CategoryOutcome], None]:
            return await handler.erase(c.subject), None

        await run_task(command, context, PrivacyAction.ERASE, work)

    async def restrict(command: RestrictSubject, context: MessageContext) -> None:
        async def work(c: RestrictSubject) -> tuple[list[CategoryOutcome], None]:
            outcomes = await handler.restrict(
                c.subject, restricted=c.restricted, objection=c.objection
            )
            return outcomes, None

        await run_task(command, context, PrivacyAction.RESTRICT, work)

    async def rectify(command: RectifySubject, context: MessageContext) -> None:
        async def work(c: RectifySubject) -> tuple[list[CategoryOutcome], None]:
            return await handler.rectify(c.subject, c.changes), None

        await run_task(command, context, PrivacyAction.RECTIFY, work)

    async def announce(_event: InventoryRequested, _context: MessageContext) -> None:
        await bus.publish(inventory_announcement(service, inventory, signer))

    router.on(LocateSubject, locate)
    router.on(ExportSubject, export)
    router.on(EraseSubject, erase)
    router.on(RestrictSubject, restrict)
    router.on(RectifySubject, rectify)
    router.on(InventoryRequested, announce)
