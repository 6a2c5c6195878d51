"""The privacy service's bus handlers: requests read, results recorded, inventories kept.

Opening requests is `privacy.intake`, decisions on them `privacy.decisions`, unanswered tasks
`privacy.fanout`; this module answers the reads and takes the services' results.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from pymongo import DESCENDING

from contracts.privacy import (
    GetPrivacyRequest,
    InventoryAnnounced,
    ListPrivacyRequests,
    PrivacyRequestPage,
    PrivacyRequestView,
    PrivacyTaskCompleted,
    RequestChannel,
)
from privacy import audit, lifecycle, receipts, results, store
from privacy.audit import AuditKind
from privacy.receipts import REFUSAL_REASONS, CheckedReceipt
from privacy.requests import Desk
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext

log = structlog.get_logger("privacy")


class PrivacyHandlers:
    """Reads of requests, and the results and inventories the services send."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.db = desk.db

    async def task_completed(self, result: PrivacyTaskCompleted, _context: MessageContext) -> None:
        """Verify a service's signed result; record it only when its receipt holds, and close
        the request when every task has answered."""
        receipt = await receipts.check(self.db, result, self.desk.clock())
        if not receipt.accepted:
            await receipts.keep(self.db, receipt)
            await self._refuse(result, receipt)
            return
        # The receipt and its audit entry first, together (idempotent: the message is
        # acknowledged only after every write, so a redelivery writes nothing twice). Only
        # then the result, whose write may close the request: whatever follows a closing
        # (packaging an export) finds every task's receipt kept.
        await asyncio.gather(
            receipts.keep(self.db, receipt),
            self._audit_receipt(AuditKind.RECEIPT_ACCEPTED, result, receipt),
        )
        answered = await results.record_answer(self.desk, result, receipt.receipt_id)
        await results.finish(self.desk, result.request_id, answered)

    async def _refuse(self, result: PrivacyTaskCompleted, receipt: CheckedReceipt) -> None:
        """The task stays open with a clear error; the refusal is audited."""
        await results.mark_refused(self.db, result, REFUSAL_REASONS[receipt.verdict])
        await self._audit_receipt(AuditKind.RECEIPT_REFUSED, result, receipt)

    async def _audit_receipt(
        self, kind: AuditKind, result: PrivacyTaskCompleted, receipt: CheckedReceipt
    ) -> None:
        await audit.append(
            self.db,
            kind,
            key=f"receipt:{receipt.receipt_id}",
            now=self.desk.clock(),
            request_id=result.request_id,
            detail={
                "service": result.service,
                "task_id": result.task_id,
                "receipt_id": receipt.receipt_id,
                "verdict": receipt.verdict.value,
                "key_id": result.key_id,
                "succeeded": result.succeeded,
            },
        )

    async def inventory_announced(
        self, event: InventoryAnnounced, _context: MessageContext
    ) -> None:
        """Keep the registry of every service's personal-data inventory."""
        now = self.desk.clock()
        await store.register_inventory(
            self.db, event.service, event.categories, event.identifiers, now
        )
        self.desk.registry_changed()
        log.info("inventory_registered", announcing_service=event.service)
        key_id = await receipts.register_key(self.db, event, now)
        if key_id is not None:
            await audit.append(
                self.db,
                AuditKind.RECEIPT_KEY_REGISTERED,
                key=f"key:{event.service}/{key_id}",
                now=now,
                detail={"service": event.service, "key_id": key_id},
            )

    async def get(self, query: GetPrivacyRequest, _context: MessageContext) -> PrivacyRequestView:
        """One request (a partner sees only its own; a partner's user not a colleague's request
        about themselves)."""
        document = await self.desk.load(query.request_id, query.partner_id)
        if query.for_user_id is not None and not seen_by(document, query.for_user_id):
            raise ServiceError("not_found", "no such privacy request")
        if query.channel is not None and document.get("channel") != query.channel.value:
            raise ServiceError("not_found", "no such privacy request")
        return lifecycle.view_of(document)

    async def list(
        self, query: ListPrivacyRequests, _context: MessageContext
    ) -> PrivacyRequestPage:
        """Requests, newest first, paged by id: a partner's own (or what one of its users may
        see), or all (ops), by state and deadline."""
        documents: list[dict[str, Any]] = []
        for criteria in _list_criteria(query):
            cursor = (
                self.db[store.REQUESTS]
                .find(criteria)
                .sort("_id", DESCENDING)
                .limit(query.limit + 1)
            )
            documents.extend([doc async for doc in cursor])
        documents.sort(key=lambda doc: str(doc["_id"]), reverse=True)
        page = documents[: query.limit]
        more = len(documents) > query.limit
        return PrivacyRequestPage(
            data=[lifecycle.view_of(doc) for doc in page],
            next_cursor=page[-1]["_id"] if more and page else None,
        )


def seen_by(document: dict[str, Any], user_id: str) -> bool:
    """Whether a partner's user may see this request of the partner: one for an end user, or
    one the user made about themselves."""
    if document.get("channel") == RequestChannel.PARTNER.value:
        return True
    return document.get("channel") == RequestChannel.SELF.value and (
        document.get("requested_by") == user_id
    )


def _list_criteria(query: ListPrivacyRequests) -> list[dict[str, Any]]:
    """The store filters whose results, merged by `_id`, make the list (a user's view is two
    keyset reads, since the store vocabulary has no `$or`)."""
    criteria: dict[str, Any] = {}
    if query.partner_id is not None:
        criteria["partner_id"] = query.partner_id
    if query.statuses:
        criteria["status"] = {"$in": [status.value for status in query.statuses]}
    if query.due_before is not None:
        criteria["deadline.at"] = {"$lt": query.due_before}
    if query.cursor:
        criteria["_id"] = {"$lt": query.cursor}
    channels = [channel.value for channel in query.channels or RequestChannel]
    if query.for_user_id is None:
        return [{**criteria, "channel": {"$in": channels}}] if query.channels else [criteria]
    arms = {
        RequestChannel.PARTNER.value: {},
        RequestChannel.SELF.value: {"requested_by": query.for_user_id},
    }
    return [
        {**criteria, "channel": channel, **extra}
        for channel, extra in arms.items()
        if channel in channels
    ]
