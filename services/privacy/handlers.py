"""The privacy service's handlers: open requests, fan them out, collect the results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from pymongo import DESCENDING

from contracts.privacy import (
    EraseSubject,
    ExportSubject,
    GetPrivacyRequest,
    InventoryAnnounced,
    ListPrivacyRequests,
    PrivacyAction,
    PrivacyRequestPage,
    PrivacyRequestView,
    PrivacyTaskCompleted,
    PrivacyTaskView,
    RectifySubject,
    RequestStatus,
    RequestType,
    RestrictSubject,
    SubmitPrivacyRequest,
)
from privacy import audit, receipts, results, store
from privacy.audit import AuditKind
from privacy.receipts import REFUSAL_REASONS, CheckedReceipt
from privacy.store import Db
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.messages import MessageContext, Outgoing
from servicekit.outbox import with_outbox

log = structlog.get_logger("privacy")

ACTION_OF = {
    RequestType.ACCESS: PrivacyAction.EXPORT,
    RequestType.PORTABILITY: PrivacyAction.EXPORT,
    RequestType.ERASURE: PrivacyAction.ERASE,
    RequestType.RECTIFICATION: PrivacyAction.RECTIFY,
    RequestType.RESTRICTION: PrivacyAction.RESTRICT,
    RequestType.OBJECTION: PrivacyAction.RESTRICT,
}


def task_command(
    request: SubmitPrivacyRequest, request_id: str, task_id: str
) -> EraseSubject | ExportSubject | RectifySubject | RestrictSubject:
    """The command that asks one service to do its part of a request."""
    common: dict[str, Any] = {
        "request_id": request_id,
        "task_id": task_id,
        "subject": request.subject,
    }
    match request.type:
        case RequestType.ERASURE:
            return EraseSubject(**common)
        case RequestType.ACCESS | RequestType.PORTABILITY:
            return ExportSubject(**common)
        case RequestType.RECTIFICATION:
            return RectifySubject(**common, changes=request.changes or {})
        case RequestType.RESTRICTION:
            return RestrictSubject(**common, restricted=True)
        case RequestType.OBJECTION:
            return RestrictSubject(**common, restricted=True, objection=True)


def view_of(document: dict[str, Any]) -> PrivacyRequestView:
    """A stored request as the partner sees it."""
    return PrivacyRequestView(
        id=document["_id"],
        type=document["type"],
        status=document["status"],
        created_at=document["created_at"],
        completed_at=document.get("completion", {}).get("at"),
        tasks=[
            PrivacyTaskView(
                service=service,
                action=task["action"],
                status=task["status"],
                outcomes=task.get("outcomes", []),
                error=task.get("error"),
                completed_at=task.get("completed_at"),
            )
            for service, task in sorted(document["tasks"].items())
        ],
    )


class PrivacyHandlers:
    """Plain handlers over the privacy store and the bus."""

    def __init__(self, *, db: Db, bus: Bus) -> None:
        self.db = db
        self.bus = bus

    async def submit(
        self, request: SubmitPrivacyRequest, context: MessageContext
    ) -> PrivacyRequestView:
        """Open a request and, in the same write, queue one task command per service."""
        services = await store.registered_services(self.db)
        if not services:
            raise ServiceError("unavailable", "no data-owning service has registered yet")
        request_id = new_id("dsr")
        subject = request.subject.model_dump(mode="json", exclude_none=True)
        key = store.open_key(request.partner_id, request.type.value, subject, request.changes)
        linked = await store.claim_open(self.db, key, request_id)
        if linked is not None:
            found = await self.db[store.REQUESTS].find_one({"_id": linked})
            if found is not None:
                log.info("privacy_request_linked", request_id=linked)
                return view_of(found)
        now = utcnow()
        tasks: dict[str, dict[str, Any]] = {}
        commands: list[Outgoing] = []
        for service in services:
            task_id = f"{request_id}.{service}"
            tasks[service] = {
                "task_id": task_id,
                "action": ACTION_OF[request.type].value,
                "status": RequestStatus.IN_PROGRESS.value,
            }
            command = task_command(request, request_id, task_id)
            commands.append(
                self.bus.outgoing(command, to=service, correlation_id=context.correlation_id)
            )
        document = {
            "_id": request_id,
            "partner_id": request.partner_id,
            "type": request.type.value,
            "subject": subject,
            "status": RequestStatus.IN_PROGRESS.value,
            "created_at": now,
            "tasks": tasks,
        }
        await self.db[store.REQUESTS].insert_one(with_outbox(document, *commands))
        log.info("privacy_request_opened", request_id=request_id, services=services)
        await self._audit_opened(request_id, request.type, tasks, now)
        return view_of(document)

    async def _audit_opened(
        self,
        request_id: str,
        request_type: RequestType,
        tasks: dict[str, dict[str, Any]],
        now: datetime,
    ) -> None:
        """The request's creation and each task sent, in the audit trail."""
        await audit.append(
            self.db,
            AuditKind.REQUEST_CREATED,
            key=f"created:{request_id}",
            now=now,
            request_id=request_id,
            detail={"type": request_type.value, "services": sorted(tasks)},
        )
        for service, task in sorted(tasks.items()):
            await audit.append(
                self.db,
                AuditKind.TASK_SENT,
                key=f"sent:{task['task_id']}",
                now=now,
                request_id=request_id,
                detail={"service": service, "task_id": task["task_id"], "action": task["action"]},
            )

    async def task_completed(self, result: PrivacyTaskCompleted, _context: MessageContext) -> None:
        """Verify a service's signed result; record it only when its receipt holds, and complete
        the request when every task has answered."""
        receipt = await receipts.check_and_keep(self.db, result, utcnow())
        if not receipt.accepted:
            await self._refuse(result, receipt)
            return
        await self._audit_receipt(AuditKind.RECEIPT_ACCEPTED, result, receipt)
        await results.record(self.db, result, receipt.receipt_id)
        final = await results.close_if_answered(self.db, result.request_id)
        if final is not None:
            kind = (
                AuditKind.REQUEST_COMPLETED
                if final is RequestStatus.COMPLETED
                else AuditKind.REQUEST_FAILED
            )
            await audit.append(
                self.db,
                kind,
                key=f"closed:{result.request_id}",
                now=utcnow(),
                request_id=result.request_id,
            )

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
            now=utcnow(),
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
        now = utcnow()
        await store.register_inventory(self.db, event.service, event.categories, now)
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
        """One request of the asking partner (another partner's is not found)."""
        document = await self.db[store.REQUESTS].find_one(
            {"_id": query.request_id, "partner_id": query.partner_id}
        )
        if document is None:
            raise ServiceError("not_found", "no such privacy request")
        return view_of(document)

    async def list(
        self, query: ListPrivacyRequests, _context: MessageContext
    ) -> PrivacyRequestPage:
        """A partner's requests, newest first, paged by id."""
        criteria: dict[str, Any] = {"partner_id": query.partner_id}
        if query.cursor:
            criteria["_id"] = {"$lt": query.cursor}
        cursor = (
            self.db[store.REQUESTS].find(criteria).sort("_id", DESCENDING).limit(query.limit + 1)
        )
        documents = [doc async for doc in cursor]
        page = documents[: query.limit]
        more = len(documents) > query.limit
        return PrivacyRequestPage(
            data=[view_of(doc) for doc in page],
            next_cursor=page[-1]["_id"] if more and page else None,
        )
