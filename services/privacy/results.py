"""A request's tasks: record verified results, keep refusals visible, close answered requests.

A result counts only for the task run it answers (its `task_id`): an answer to an earlier run
of a re-run task is kept as a receipt but changes nothing. A late answer from a service whose
task had been given up still counts, and the request's final state is worked out again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from pymongo import ReturnDocument, UpdateOne

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
from servicekit.grouped import UPDATE_LIMIT, Group, own_copies, per_process
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


def _task_status(result: PrivacyTaskCompleted) -> TaskStatus:
    return TaskStatus.COMPLETED if result.succeeded else TaskStatus.FAILED


def _recorded_fields(result: PrivacyTaskCompleted, receipt_id: str) -> dict[str, Any]:
    """The `$set` that records a result as its task's result."""
    task = f"tasks.{result.service}"
    recorded: dict[str, Any] = {
        f"{task}.status": _task_status(result).value,
        f"{task}.outcomes": [o.model_dump(mode="json") for o in result.outcomes],
        f"{task}.completed_at": result.completed_at,
        f"{task}.receipt": receipt_id,
    }
    if result.error is not None:
        recorded[f"{task}.error"] = result.error
    return recorded


def _record_criteria(result: PrivacyTaskCompleted) -> dict[str, Any]:
    """The request whose task this result answers, while the request takes answers."""
    return {
        "_id": result.request_id,
        f"tasks.{result.service}.task_id": result.task_id,
        "status": {"$in": [s.value for s in ANSWERABLE]},
    }


Recording = tuple[PrivacyTaskCompleted, str]
"""A verified result and the id of its kept receipt."""


def _recordings(db: Db) -> Group[Recording, dict[str, Any] | None]:
    """This process's recordings of results in `db`, written together while one is at the
    store."""
    recordings: Group[Recording, dict[str, Any] | None] = per_process(
        "record-result",
        db[store.REQUESTS],
        lambda: Group(lambda batch: _record_many(db, batch), UPDATE_LIMIT),
    )
    return recordings


async def _record_many(db: Db, batch: list[Recording]) -> list[dict[str, Any] | None]:
    """Record each result; the request as it now is for each, or None where the result
    answers no task of it. Alone: one conditional write that returns the request. Together:
    one write of them all, then one read of their requests, where each result counts as
    recorded when its task holds its receipt (this write's, or an identical earlier one's)."""
    requests = db[store.REQUESTS]
    if len(batch) == 1:
        result, receipt_id = batch[0]
        recorded = await requests.find_one_and_update(
            _record_criteria(result),
            {"$set": _recorded_fields(result, receipt_id)},
            return_document=ReturnDocument.AFTER,
        )
        return [recorded]
    writes = [
        UpdateOne(_record_criteria(result), {"$set": _recorded_fields(result, receipt_id)})
        for result, receipt_id in batch
    ]
    await requests.bulk_write(writes, ordered=False)
    ids = sorted({result.request_id for result, _ in batch})
    found = {document["_id"]: document async for document in requests.find({"_id": {"$in": ids}})}
    answers: list[list[dict[str, Any]]] = []
    for result, receipt_id in batch:
        document = found.get(result.request_id, {})
        task = document.get("tasks", {}).get(result.service, {})
        ours = (task.get("task_id"), task.get("receipt")) == (result.task_id, receipt_id)
        answers.append([document] if ours else [])
    return [answer[0] if answer else None for answer in own_copies(answers)]


async def record(db: Db, result: PrivacyTaskCompleted, receipt_id: str) -> dict[str, Any] | None:
    """Record a verified result as its task's result (and keep its export); the request as it
    now is, or None when the result answers no task of the request as it now is."""
    updated = await _recordings(db).call((result, receipt_id))
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
    closed = await desk.requests.find_one_and_update(
        {"_id": request_id, "status": document["status"]},
        closing_update(desk, document, final, now),
        return_document=ReturnDocument.AFTER,
    )
    if closed is None:
        return None
    await after_closing(desk, Closed(closed, document["status"], final, now))
    return final


@dataclass(frozen=True)
class Closed:
    """A request just closed: as written, the state it left and the one it took, when."""

    request: dict[str, Any]
    was: str
    final: RequestStatus
    at: datetime


def closing_update(
    desk: Desk, document: Mapping[str, Any], final: RequestStatus, now: datetime
) -> dict[str, Any]:
    """The write that closes a request in `final`, announcing it through its outbox."""
    announcement = PrivacyRequestClosed(
        request_id=document["_id"],
        type=document["type"],
        partner_id=document.get("partner_id"),
        status=final,
        closed_at=now,
    )
    return add_outbox(
        {"$set": {"status": final.value, "completion": {"at": now}}, "$unset": {"retry": ""}},
        desk.bus.outgoing(announcement),
    )


async def after_closing(desk: Desk, closed: Closed) -> None:
    """What follows a closing write: the duplicate claim released, the closing audited."""
    request_id = closed.request["_id"]
    desk.forget(request_id)
    await asyncio.gather(
        store.release_open(desk.db, closed.request),
        audit.append(
            desk.db,
            CLOSING_KIND[closed.final],
            key=f"closed:{request_id}:{closed.final.value}:{closed.at.isoformat()}",
            now=closed.at,
            request_id=request_id,
            detail={"from": closed.was},
        ),
    )
    log.info("privacy_request_closed", request_id=request_id, status=closed.final.value)


@dataclass(frozen=True)
class Answered:
    """What recording a result did: the request as recorded (None: the result answers no
    task of it), or, when it answered the last open task, the request closed with it."""

    recorded: dict[str, Any] | None = None
    closed: Closed | None = None


async def record_answer(desk: Desk, result: PrivacyTaskCompleted, receipt_id: str) -> Answered:
    """Record a verified result. When this process last saw every other task of the request
    answered, the result is recorded and the request closed by one conditional write, which
    names the state of every task as last seen: if any changed meanwhile it matches nothing
    and the result is recorded alone, as always (then `finish` closes it if it is the last)."""
    guess = _closing_guess(desk, result)
    if guess is not None:
        criteria, known, final = guess
        now = desk.clock()
        update = closing_update(desk, known, final, now)
        update["$set"].update(_recorded_fields(result, receipt_id))
        closed = await desk.requests.find_one_and_update(
            criteria, update, return_document=ReturnDocument.AFTER
        )
        if closed is not None:
            return Answered(closed=Closed(closed, known["status"], final, now))
    recorded = await record(desk.db, result, receipt_id)
    if recorded is not None:
        desk.remember(recorded)
    return Answered(recorded=recorded)


async def finish(desk: Desk, request_id: str, answered: Answered) -> None:
    """After a result is recorded (and audited): close the request if no task is open."""
    if answered.closed is not None:
        await after_closing(desk, answered.closed)
    elif answered.recorded is not None:
        await close(desk, request_id, answered.recorded)


def _closing_guess(
    desk: Desk, result: PrivacyTaskCompleted
) -> tuple[dict[str, Any], Mapping[str, Any], RequestStatus] | None:
    """The criteria of "every other task is still as last seen", the request as last seen and
    the state it closes in, when this result would answer its last open task; else None."""
    known = desk.last_seen(result.request_id)
    if known is None or result.export is not None:
        return None
    tasks: Mapping[str, Mapping[str, Any]] = known.get("tasks", {})
    answered = tasks.get(result.service)
    if answered is None or answered.get("task_id") != result.task_id:
        return None
    others = {service: task for service, task in tasks.items() if service != result.service}
    final = lifecycle.closing_status(
        [_task_status(result).value, *(task["status"] for task in others.values())]
    )
    if final is None or known["status"] not in ANSWERABLE or known["status"] == final:
        return None
    criteria: dict[str, Any] = {
        "_id": result.request_id,
        "status": known["status"],
        f"tasks.{result.service}.task_id": result.task_id,
    }
    for service, task in others.items():
        criteria[f"tasks.{service}.task_id"] = task["task_id"]
        criteria[f"tasks.{service}.status"] = task["status"]
    return criteria, known, final
