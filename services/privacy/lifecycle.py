"""The rules of a data-subject request's life: deadlines, tasks, commands and closing.

Pure functions over stored request documents; the store and the handlers apply them.

A stored request: `{_id, type, channel, status, status_reason?, partner_id?,
scope_partner_id?, requested_by?, subject, changes?, created_at, deadline: {at,
extended_months}, extensions: [...], tasks: {service: task}, retry?: {at}, completion?: {at}}`.
A task: `{task_id, run, action, status, attempts, sent_at, next_attempt_at?, last_error?,
outcomes?, error?, completed_at?, receipt?}`. `retry.at` is the earliest `next_attempt_at` of
the open tasks: the sweeper finds requests by it (one index) rather than by each service.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from contracts.privacy import (
    DeadlineExtension,
    EraseSubject,
    ExportSubject,
    PrivacyAction,
    PrivacyRequestView,
    PrivacyTaskView,
    RectifySubject,
    RequestStatus,
    RequestType,
    RestrictSubject,
    SubjectRef,
    TaskStatus,
)

DEADLINE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2

ACTION_OF = {
    RequestType.ACCESS: PrivacyAction.EXPORT,
    RequestType.PORTABILITY: PrivacyAction.EXPORT,
    RequestType.ERASURE: PrivacyAction.ERASE,
    RequestType.RECTIFICATION: PrivacyAction.RECTIFY,
    RequestType.RESTRICTION: PrivacyAction.RESTRICT,
    RequestType.RESTRICTION_LIFT: PrivacyAction.RESTRICT,
    RequestType.OBJECTION: PrivacyAction.RESTRICT,
}

TaskCommand = EraseSubject | ExportSubject | RectifySubject | RestrictSubject


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the month's last day if shorter:
    31 January + 1 month is 28 or 29 February)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_at(created_at: datetime, extended_months: int) -> datetime:
    """One month from receipt, plus the extensions."""
    return add_months(created_at, DEADLINE_MONTHS + extended_months)


def task_id_of(request_id: str, service: str, run: int) -> str:
    """A task's id; each re-run gets a new one, so the service runs it again."""
    base = f"{request_id}.{service}"
    return base if run == 1 else f"{base}.{run}"


def new_task(
    request_id: str, service: str, action: PrivacyAction, *, run: int, now: datetime, wait: float
) -> dict[str, Any]:
    """A task as it is sent for the first time (of this run)."""
    return {
        "task_id": task_id_of(request_id, service, run),
        "run": run,
        "action": action.value,
        "status": TaskStatus.IN_PROGRESS.value,
        "attempts": 1,
        "sent_at": now,
        "next_attempt_at": now + timedelta(seconds=wait),
    }


def task_command(request: Mapping[str, Any], task: Mapping[str, Any]) -> TaskCommand:
    """The command asking one service to do its part of a stored request."""
    common: dict[str, Any] = {
        "request_id": request["_id"],
        "task_id": task["task_id"],
        "subject": SubjectRef.model_validate(request["subject"]),
        "scope_partner_id": request.get("scope_partner_id"),
    }
    match RequestType(request["type"]):
        case RequestType.ERASURE:
            return EraseSubject(**common)
        case RequestType.ACCESS | RequestType.PORTABILITY:
            return ExportSubject(**common)
        case RequestType.RECTIFICATION:
            return RectifySubject(**common, changes=request.get("changes") or {})
        case RequestType.RESTRICTION:
            return RestrictSubject(**common, restricted=True)
        case RequestType.RESTRICTION_LIFT:
            return RestrictSubject(**common, restricted=False, objection=False)
        case RequestType.OBJECTION:
            return RestrictSubject(**common, restricted=True, objection=True)


def earliest_retry(tasks: Mapping[str, Mapping[str, Any]]) -> datetime | None:
    """When the sweeper next has something to do for these tasks (None: nothing open)."""
    times = [
        task["next_attempt_at"]
        for task in tasks.values()
        if task["status"] == TaskStatus.IN_PROGRESS.value and "next_attempt_at" in task
    ]
    return min(times, default=None)


def closing_status(statuses: Iterable[str]) -> RequestStatus | None:
    """The request's final state once no task is open; None while one is."""
    seen = set(statuses)
    if TaskStatus.IN_PROGRESS.value in seen:
        return None
    done = TaskStatus.COMPLETED.value in seen
    failed = TaskStatus.FAILED.value in seen
    if failed and done:
        return RequestStatus.COMPLETED_WITH_EXCEPTIONS
    return RequestStatus.FAILED if failed else RequestStatus.COMPLETED


def retry_wait(delays: Sequence[float], attempts: int) -> float | None:
    """Seconds to wait for an answer after the `attempts`-th send; None: give up after it."""
    return delays[attempts - 1] if attempts <= len(delays) else None


def _task_view(service: str, task: Mapping[str, Any]) -> PrivacyTaskView:
    return PrivacyTaskView(
        service=service,
        task_id=task["task_id"],
        action=task["action"],
        status=task["status"],
        attempts=task.get("attempts", 1),
        run=task.get("run", 1),
        last_error=task.get("last_error"),
        next_attempt_at=task.get("next_attempt_at")
        if task["status"] == TaskStatus.IN_PROGRESS.value
        else None,
        outcomes=task.get("outcomes", []),
        error=task.get("error"),
        completed_at=task.get("completed_at"),
    )


def view_of(document: Mapping[str, Any]) -> PrivacyRequestView:
    """A stored request as its reader sees it."""
    return PrivacyRequestView(
        id=document["_id"],
        type=document["type"],
        channel=document["channel"],
        status=document["status"],
        status_reason=document.get("status_reason"),
        created_at=document["created_at"],
        due_at=document["deadline"]["at"],
        extensions=[DeadlineExtension.model_validate(e) for e in document.get("extensions", [])],
        completed_at=document.get("completion", {}).get("at"),
        tasks=[_task_view(s, t) for s, t in sorted(document.get("tasks", {}).items())],
    )
