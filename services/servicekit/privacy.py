"""The privacy-command framework: a service answers for its own personal data.

A data-owning service declares its inventory and implements `PrivacyHandler`; `join_privacy`
registers the privacy commands for it. The framework makes every task idempotent (a receipt
keyed by task id, written together with the outgoing result, after the export's parts),
retries failures with backoff and reports a task that keeps failing as failed rather than
leaving it open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from contracts.erasure_ledger import ErasedIdentifier
from contracts.privacy import (
    CategoryOutcome,
    DataCategory,
    EraseSubject,
    ExportSubject,
    IdentifierKind,
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
from servicekit.erasures import join_erasure_ledger
from servicekit.export_parts import EXPORT_PARTS, ExportInParts, parts_if_large, write_parts
from servicekit.grouped import GroupedFinds, GroupedInserts
from servicekit.messages import MessageContext, Outgoing
from servicekit.outbox import OutboxRelay, with_outbox
from servicekit.receipts import ReceiptSigner, to_millisecond
from servicekit.router import Router
from servicekit.settings import ServiceSettings

RECEIPTS = "_privacy_receipts"

log = structlog.get_logger("servicekit.privacy")


class PrivacyHandler(Protocol):
    """What a data-owning service implements to join the privacy fan-out.

    `scope` is the partner whose data alone may be touched (the command's `scope_partner_id`:
    a partner asked); None reaches the subject's data under any partner (ops, or a person
    about themselves). Each service says in its privacy module what its partners control.
    """

    async def locate(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """Which categories of the subject's data are held, and how many records."""

    async def export(self, subject: SubjectRef, *, scope: str | None) -> dict[str, Any]:
        """Everything held about the subject: readable field names, decrypted values."""

    async def erase(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """Erase per category: delete, pseudonymise, or retain under a legal obligation."""

    async def restrict(
        self, subject: SubjectRef, *, scope: str | None, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Set or lift the restriction flag on the subject's data."""

    async def rectify(
        self, subject: SubjectRef, changes: dict[str, str], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Replace inaccurate fields with corrected values and record the change."""

    async def erase_indexed(
        self, identifiers: list[ErasedIdentifier], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Erase again what an erasure-ledger entry names, as `erase` did for its subject:
        sealed kinds by their blind index, platform-assigned kinds by value."""


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
    service: str,
    inventory: list[DataCategory],
    signer: ReceiptSigner,
    identifiers: list[IdentifierKind],
) -> InventoryAnnounced:
    """The inventory, the identifier kinds the service finds data by, and the public key the
    service's receipts verify against."""
    return InventoryAnnounced(
        service=service,
        categories=inventory,
        identifiers=identifiers,
        receipt_public_key=signer.public_key,
        receipt_key_id=signer.key_id,
    )


def join_privacy(
    *,
    router: Router,
    service: str,
    inventory: list[DataCategory],
    identifiers: list[IdentifierKind],
    handler: PrivacyHandler,
    db: AsyncDatabase[dict[str, Any]],
    bus: Bus,
    relay: OutboxRelay,
    signer: ReceiptSigner,
    export_part_bytes: int = 256 * 1024,
) -> None:
    """Register the privacy commands and inventory requests of a data-owning service.

    An export larger than `export_part_bytes` travels in parts of at most that many bytes,
    each written as an outbox document of its own before the receipt that carries the result
    (`servicekit.export_parts.write_parts`)."""
    # Tasks handled at the same time look up and keep their receipts together (one store
    # command for many: `servicekit.grouped`), each still before and after its own work.
    receipts_read = GroupedFinds(db[RECEIPTS])
    receipts_kept = GroupedInserts(db[RECEIPTS])
    for collection in (EXPORT_PARTS, RECEIPTS):
        if collection not in relay.collections:
            relay.collections.append(collection)

    async def run_task(
        command: SubjectCommand, context: MessageContext, action: PrivacyAction, work: Action
    ) -> None:
        done = await receipts_read.find(command.task_id)
        if done is not None:
            await answer_again(done, command, context, action, work)
            return
        in_parts, result = await perform(command, context, action, work)
        if in_parts is not None:
            await write_parts(db[EXPORT_PARTS], in_parts, lambda part: outgoing(part, context))
        receipt = {
            "_id": command.task_id,
            "request_id": command.request_id,
            "action": action.value,
            "succeeded": result.succeeded,
            "outcomes": [o.model_dump(mode="json") for o in result.outcomes],
            "completed_at": result.completed_at,
            "signature": result.signature,
            "key_id": result.key_id,
        }
        if result.error is not None:
            receipt["error"] = result.error
        # Not written (a copy of the command did it first): that copy's result goes out.
        await receipts_kept.insert(with_outbox(receipt, outgoing(result, context)))

    def outgoing(message: Any, context: MessageContext) -> Outgoing:
        return bus.outgoing(message, correlation_id=context.correlation_id)

    async def perform(
        command: SubjectCommand, context: MessageContext, action: PrivacyAction, work: Action
    ) -> tuple[ExportInParts | None, PrivacyTaskCompleted]:
        """Do the task; the export in parts (if it travels in parts) and the signed result."""
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
        in_parts = parts_if_large(
            request_id=command.request_id,
            task_id=command.task_id,
            service=service,
            export=export,
            part_bytes=export_part_bytes,
        )
        unsigned = PrivacyTaskCompleted(
            request_id=command.request_id,
            task_id=command.task_id,
            service=service,
            action=action,
            succeeded=error is None,
            outcomes=outcomes,
            export=export if in_parts is None else None,
            export_parts=in_parts.count if in_parts else None,
            export_sha256=in_parts.sha256 if in_parts else None,
            error=error,
            completed_at=to_millisecond(utcnow()),
        )
        return in_parts, signer.sign(unsigned)

    async def answer_again(
        done: dict[str, Any],
        command: SubjectCommand,
        context: MessageContext,
        action: PrivacyAction,
        work: Action,
    ) -> None:
        """A task already done is asked again (its answer was lost, or refused before the
        service's key was known): the same signed result goes out again; an export, which the
        receipt does not keep, is read afresh. Nothing is changed twice."""
        if action is PrivacyAction.EXPORT:
            in_parts, result = await perform(command, context, action, work)
            messages: list[Any] = [*(in_parts.parts if in_parts else []), result]
        else:
            unsigned = PrivacyTaskCompleted(
                request_id=command.request_id,
                task_id=command.task_id,
                service=service,
                action=action,
                succeeded=done["succeeded"],
                outcomes=[CategoryOutcome.model_validate(o) for o in done["outcomes"]],
                error=done.get("error"),
                completed_at=done["completed_at"],
            )
            messages = [signer.sign(unsigned)]
        await bus.publish_many([outgoing(m, context) for m in messages])
        log.info("privacy_task_answered_again", action=action)

    async def locate(command: LocateSubject, context: MessageContext) -> None:
        async def work(c: LocateSubject) -> tuple[list[CategoryOutcome], None]:
            return await handler.locate(c.subject, scope=c.scope_partner_id), None

        await run_task(command, context, PrivacyAction.LOCATE, work)

    async def export(command: ExportSubject, context: MessageContext) -> None:
        async def work(c: ExportSubject) -> tuple[list[CategoryOutcome], dict[str, Any]]:
            scope = c.scope_partner_id
            return (
                await handler.locate(c.subject, scope=scope),
                await handler.export(c.subject, scope=scope),
            )

        await run_task(command, context, PrivacyAction.EXPORT, work)

    async def erase(command: EraseSubject, context: MessageContext) -> None:
        async def work(c: EraseSubject) -> tuple[list[CategoryOutcome], None]:
            return await handler.erase(c.subject, scope=c.scope_partner_id), None

        await run_task(command, context, PrivacyAction.ERASE, work)

    async def restrict(command: RestrictSubject, context: MessageContext) -> None:
        async def work(c: RestrictSubject) -> tuple[list[CategoryOutcome], None]:
            outcomes = await handler.restrict(
                c.subject,
                scope=c.scope_partner_id,
                restricted=c.restricted,
                objection=c.objection,
            )
            return outcomes, None

        await run_task(command, context, PrivacyAction.RESTRICT, work)

    async def rectify(command: RectifySubject, context: MessageContext) -> None:
        async def work(c: RectifySubject) -> tuple[list[CategoryOutcome], None]:
            return await handler.rectify(c.subject, c.changes, scope=c.scope_partner_id), None

        await run_task(command, context, PrivacyAction.RECTIFY, work)

    async def announce(_event: InventoryRequested, _context: MessageContext) -> None:
        await bus.publish(inventory_announcement(service, inventory, signer, identifiers))

    # A task is done once per task id (its kept receipt answers any later copy): no inbox.
    router.on(LocateSubject, locate, idempotent=True)
    router.on(ExportSubject, export, idempotent=True)
    router.on(EraseSubject, erase, idempotent=True)
    router.on(RestrictSubject, restrict, idempotent=True)
    router.on(RectifySubject, rectify, idempotent=True)
    router.on(InventoryRequested, announce)
    join_erasure_ledger(
        router=router, service=service, handler=handler, db=db, bus=bus, relay=relay
    )
