"""A request's tasks: record verified results, keep refusals visible, close answered requests."""

from __future__ import annotations

from typing import Any

import structlog

from contracts.privacy import PrivacyTaskCompleted, RequestStatus
from privacy import store
from privacy.store import Db
from servicekit.clock import utcnow

log = structlog.get_logger("privacy")


async def mark_refused(db: Db, result: PrivacyTaskCompleted, reason: str) -> None:
    """A refused receipt leaves its task open, with the reason as the task's error."""
    task = f"tasks.{result.service}"
    await db[store.REQUESTS].update_one(
        {
            "_id": result.request_id,
            f"{task}.task_id": result.task_id,
            f"{task}.status": RequestStatus.IN_PROGRESS.value,
        },
        {"$set": {f"{task}.error": f"receipt refused: {reason}"}},
    )


async def record(db: Db, result: PrivacyTaskCompleted, receipt_id: str) -> None:
    """Record a verified result as its task's result (and keep its export)."""
    status = RequestStatus.COMPLETED if result.succeeded else RequestStatus.FAILED
    task = f"tasks.{result.service}"
    recorded: dict[str, Any] = {
        "task_id": result.task_id,
        "action": result.action.value,
        "status": status.value,
        "outcomes": [o.model_dump(mode="json") for o in result.outcomes],
        "completed_at": result.completed_at,
        "receipt": receipt_id,
    }
    if result.error is not None:
        recorded["error"] = result.error
    await db[store.REQUESTS].update_one(
        {"_id": result.request_id, f"{task}.task_id": result.task_id}, {"$set": {task: recorded}}
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


async def close_if_answered(db: Db, request_id: str) -> RequestStatus | None:
    """Close the request once no task is open; its final status, or None while open."""
    requests = db[store.REQUESTS]
    document = await requests.find_one({"_id": request_id})
    if document is None:
        log.warning("task_result_for_unknown_request", request_id=request_id)
        return None
    statuses = {task["status"] for task in document["tasks"].values()}
    if RequestStatus.IN_PROGRESS.value in statuses:
        return None
    final = (
        RequestStatus.FAILED if RequestStatus.FAILED.value in statuses else RequestStatus.COMPLETED
    )
    await requests.update_one(
        {"_id": request_id, "status": RequestStatus.IN_PROGRESS.value},
        {"$set": {"status": final.value, "completion": {"at": utcnow()}}},
    )
    await store.release_open(db, request_id)
    return final
