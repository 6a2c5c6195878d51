"""Decisions on a request by ops or the privacy officer: approve, reject, cancel, extend the
deadline, re-run one service's task. Each is recorded with who decided and why."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument

from contracts.privacy import (
    OPEN_STATUSES,
    ApprovePrivacyRequest,
    CancelPrivacyRequest,
    ExtendPrivacyDeadline,
    PrivacyRequestView,
    RejectPrivacyRequest,
    RequestStatus,
    RerunPrivacyTask,
    TaskStatus,
)
from privacy import audit, lifecycle, results, store
from privacy.audit import AuditKind
from privacy.requests import Desk
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext
from servicekit.outbox import add_outbox

NOT_STARTED = [
    RequestStatus.RECEIVED,
    RequestStatus.IDENTITY_UNVERIFIED,
    RequestStatus.VERIFIED,
    RequestStatus.AWAITING_APPROVAL,
]
RERUNNABLE = [
    RequestStatus.IN_PROGRESS,
    RequestStatus.COMPLETED_WITH_EXCEPTIONS,
    RequestStatus.FAILED,
]


class Decisions:
    """Approve, reject, cancel, extend and re-run."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def approve(
        self, query: ApprovePrivacyRequest, context: MessageContext
    ) -> PrivacyRequestView:
        """Start the fan-out of a request that awaits approval."""
        request = await self.desk.load(query.request_id, query.partner_id)
        fanout = await self.desk.fanout(request, self.desk.clock(), context.correlation_id)
        moved = await self.desk.move(
            request,
            [RequestStatus.IN_PROGRESS],
            leaving=[RequestStatus.AWAITING_APPROVAL],
            by=query.by,
            fields=fanout.fields,
            commands=fanout.commands,
        )
        await self.desk.started(moved)
        if not fanout.tasks:
            await results.close(self.desk, request["_id"])
            moved = await self.desk.load(request["_id"])
        return lifecycle.view_of(moved)

    async def reject(
        self, query: RejectPrivacyRequest, _context: MessageContext
    ) -> PrivacyRequestView:
        """Refuse a request that has not started."""
        request = await self.desk.load(query.request_id, query.partner_id)
        moved = await self.desk.move(
            request,
            [RequestStatus.REJECTED],
            leaving=NOT_STARTED,
            by=query.by,
            reason=query.reason,
            fields={"completion": {"at": self.desk.clock()}},
        )
        await store.release_open(self.desk.db, request)
        return lifecycle.view_of(moved)

    async def cancel(
        self, query: CancelPrivacyRequest, _context: MessageContext
    ) -> PrivacyRequestView:
        """Withdraw an open request: tasks still out are cancelled and no longer retried (what a
        service already did stays done, and its answer is still kept)."""
        request = await self.desk.load(query.request_id, query.partner_id)
        fields: dict[str, Any] = {"completion": {"at": self.desk.clock()}}
        for service, task in request.get("tasks", {}).items():
            if task["status"] == TaskStatus.IN_PROGRESS.value:
                fields[f"tasks.{service}.status"] = TaskStatus.CANCELLED.value
        moved = await self.desk.move(
            request,
            [RequestStatus.CANCELLED],
            leaving=OPEN_STATUSES,
            by=query.by,
            reason=query.reason,
            fields=fields,
            unset=["retry"],
        )
        await store.release_open(self.desk.db, request)
        return lifecycle.view_of(moved)

    async def extend(
        self, query: ExtendPrivacyDeadline, _context: MessageContext
    ) -> PrivacyRequestView:
        """Move the deadline on by whole months: at most two further months in all."""
        request = await self.desk.load(query.request_id, query.partner_id)
        if request["status"] not in OPEN_STATUSES:
            raise ServiceError("conflict", f"the request is {request['status']}; no deadline")
        extended = request["deadline"]["extended_months"]
        if extended + query.months > lifecycle.MAX_EXTENSION_MONTHS:
            raise ServiceError(
                "invalid_request",
                f"the deadline can be extended by {lifecycle.MAX_EXTENSION_MONTHS} months in all;"
                f" {extended} already used",
            )
        now = self.desk.clock()
        total = extended + query.months
        deadline = {"at": lifecycle.due_at(request["created_at"], total), "extended_months": total}
        extension = {
            "months": query.months,
            "extended_months": total,
            "reason": query.reason,
            "by": query.by,
            "at": now,
        }
        updated = await self.desk.requests.find_one_and_update(
            {"_id": request["_id"], "deadline.extended_months": extended},
            {"$set": {"deadline": deadline}, "$addToSet": {"extensions": extension}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise ServiceError("conflict", "the deadline changed meanwhile; try again")
        await audit.append(
            self.desk.db,
            AuditKind.DEADLINE_EXTENDED,
            key=f"extended:{request['_id']}:{total}",
            now=now,
            request_id=request["_id"],
            detail={"months": query.months, "reason": query.reason, "by": query.by},
        )
        return lifecycle.view_of(updated)

    async def rerun(self, query: RerunPrivacyTask, context: MessageContext) -> PrivacyRequestView:
        """Send one service's task again as a new run; the other tasks keep their results."""
        request = await self.desk.load(query.request_id, query.partner_id)
        task = request.get("tasks", {}).get(query.service)
        if task is None:
            raise ServiceError("not_found", f"the request has no task for {query.service}")
        if task["status"] not in (TaskStatus.FAILED.value, TaskStatus.IN_PROGRESS.value):
            raise ServiceError("conflict", f"the task is {task['status']}; nothing to re-run")
        if request["status"] not in RERUNNABLE:
            raise ServiceError("conflict", f"the request is {request['status']}")
        now = self.desk.clock()
        wait = self.desk.settings.privacy_task_retry_seconds[0]
        action = lifecycle.ACTION_OF[request["type"]]
        fresh = lifecycle.new_task(
            request["_id"], query.service, action, run=task.get("run", 1) + 1, now=now, wait=wait
        )
        command = self.desk.bus.outgoing(
            lifecycle.task_command(request, fresh),
            to=query.service,
            correlation_id=context.correlation_id,
        )
        tasks = {**request["tasks"], query.service: fresh}
        changes = add_outbox(
            {
                "$set": {
                    f"tasks.{query.service}": fresh,
                    "status": RequestStatus.IN_PROGRESS.value,
                    "retry": {"at": lifecycle.earliest_retry(tasks)},
                },
                "$unset": {"completion": ""},
            },
            command,
        )
        updated = await self.desk.requests.find_one_and_update(
            {
                "_id": request["_id"],
                "status": {"$in": [status.value for status in RERUNNABLE]},
                f"tasks.{query.service}.task_id": task["task_id"],
            },
            changes,
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise ServiceError("conflict", "the task changed meanwhile; try again")
        await self._record_rerun(request, query, fresh, now)
        return lifecycle.view_of(updated)

    async def _record_rerun(
        self,
        request: dict[str, Any],
        query: RerunPrivacyTask,
        fresh: dict[str, Any],
        now: Any,
    ) -> None:
        await audit.append(
            self.desk.db,
            AuditKind.TASK_RERUN,
            key=f"rerun:{fresh['task_id']}",
            now=now,
            request_id=request["_id"],
            detail={"service": query.service, "task_id": fresh["task_id"], "by": query.by},
        )
        if request["status"] != RequestStatus.IN_PROGRESS.value:
            await self.desk.record_steps(
                request, request["status"], [RequestStatus.IN_PROGRESS], now, by=query.by
            )
        await self.desk.record_tasks_sent(request, {query.service: fresh}, now)
