"""A request's tasks: record verified results, keep refusals visible, close answered requests.

A result counts only for the task run it answers (its `task_id`): an answer to an earlier run
of a re-run task is kept as a receipt but changes nothing. A late answer from a service whose
task had been given up still counts, and the request's final state is worked out again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog
from pymongo import ReturnDocument

from contracts.privacy import (
    PrivacyRequestClosed,
    PrivacyTaskCompleted,
    RequestStatus,
    TaskStatus,
)
from privacy import audit, lifecycle, store
from privacy.audit import AuditKind
from privacy.requests import Desk
from privacy.store import Db
from servicekit.outbox import add_outbox

log = structlog.get_logger("privacy")

ANSWERABLE = [
    RequestStatus.IN_PROGRESS,
    RequestStatus.COMPLETED_WITH_EXCEPTIONS,
    RequestStatus.FAILED,
]
"""A request in one of these states takes task answers (a cancelled one keeps them aside)."""

CLOSING_KIND = {
    RequestStatus.COMPLETED: AuditKind.REQUEST_COMPLETED,
    RequestStatus.COMPLETED_WITH_EXCEPTIONS: AuditKind.REQUEST_COMPLETED_WITH_EXCEPTIONS,
    RequestStatus.FAILED: AuditKind.REQUEST_FAILED,
}


async def mark_refused(db: Db, result: PrivacyTaskCompleted, reason: str) -> None:
    """A refused receipt leaves its task open, with the reason as the task's last error."""
    task = f"tasks.{result.service}"
    await db[store.REQUESTS].update_one(
        {
            "_id": result.request_id,
            f"{task}.task_id": result.task_id,
            f"{task}.status": TaskStatus.IN_PROGRESS.value,
        },
        {"$set": {f"{task}.last_error": f"receipt refused: {reason}"}},
    )


async def record(db: Db, result: PrivacyTaskCompleted, receipt_id: str) -> dict[str, Any] | None:
    """Record a verified result as its task's result (and keep its export); the request as it
    now is, or None when the result answers no task of the request as it now is."""
    status = TaskStatus.COMPLETED if result.succeeded else TaskStatus.FAILED
    task = f"tasks.{result.service}"
    recorded: dict[str, Any] = {
        f"{task}.status": status.value,
        f"{task}.outcomes": [o.model_dump(mode="json") for o in result.outcomes],
        f"{task}.completed_at": result.completed_at,
        f"{task}.receipt": receipt_id,
    }
    if result.error is not None:
        recorded[f"{task}.error"] = result.error
    updated = await db[store.REQUESTS].find_one_and_update(
        {
            "_id": result.request_id,
            f"{task}.task_id": result.task_id,
            "status": {"$in": [s.value for s in ANSWERABLE]},
        },
        {"$set": recorded},
        return_document=ReturnDocument.AFTER,
    )
    if result.export is not None:
        await db[store.EXPORTS].update_one(
            {"_id": result.task_id},
            {
                "$set": {
                    "request_id": result.request_id,
                    "service": result.service,
                    "data": result.export,
                }
            },
            upsert=True,
        )
    return updated


async def close(
    desk: Desk, request_id: str, document: Mapping[str, Any] | None = None
) -> RequestStatus | None:
    """Close the request once no task is open; its new final state, or None (still open, or
    already in that state). `document` is the request as just written, when the caller has
    it."""
    if document is None:
        document = await desk.requests.find_one({"_id": request_id})
    if document is None:
        log.warning("task_result_for_unknown_request", request_id=request_id)
        return None
    final = lifecycle.closing_status(t["status"] for t in document.get("tasks", {}).values())
    if final is None or document["status"] not in ANSWERABLE or document["status"] == final:
        return None
    now = desk.clock()
    announcement = PrivacyRequestClosed(
        request_id=request_id,
        type=document["type"],
        partner_id=document.get("partner_id"),
        status=final,
        closed_at=now,
    )
    closed = await desk.requests.find_one_and_update(
        {"_id": request_id, "status": document["status"]},
        add_outbox(
            {"$set": {"status": final.value, "completion": {"at": now}}, "$unset": {"retry": ""}},
            desk.bus.outgoing(announcement),
        ),
        return_document=ReturnDocument.AFTER,
    )
    if closed is None:
        return None
    await asyncio.gather(
        store.release_open(desk.db, closed),
        audit.append(
            desk.db,
            CLOSING_KIND[final],
            key=f"closed:{request_id}:{final.value}:{now.isoformat()}",
            now=now,
            request_id=request_id,
            detail={"from": document["status"]},
        ),
    )
    log.info("privacy_request_closed", request_id=request_id, status=final.value)
    return final
