"""Unanswered tasks: sent again with backoff, given up after the last wait.

A task is sent again when its `next_attempt_at` passes without an answer (the service was
down, its queue missing, or the answer lost), with the same task id: the service's receipt
makes a second run change nothing. After the last wait of `PRIVACY_TASK_RETRY_SECONDS` the
task fails with "no answer", and the request closes once nothing else is open; ops can re-run
it later. Everything lives in the request documents, so a restarted privacy service carries on
where it stopped. One service being down holds back no other: each task has its own clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog

from contracts.privacy import RequestStatus, TaskStatus
from privacy import audit, lifecycle, results
from privacy.audit import AuditKind
from privacy.requests import Desk
from servicekit.messages import Outgoing
from servicekit.outbox import add_outbox

log = structlog.get_logger("privacy.fanout")

SWEEP_BATCH = 100


async def sweep_once(desk: Desk) -> int:
    """Send again (or give up) every task whose wait is over; how many tasks were handled."""
    now = desk.clock()
    due = desk.requests.find(
        {"status": RequestStatus.IN_PROGRESS.value, "retry.at": {"$lte": now}}
    ).limit(SWEEP_BATCH)
    handled = 0
    async for request in due:
        handled += await _retry_request(desk, request, now)
    return handled


async def _retry_request(desk: Desk, request: dict[str, Any], now: datetime) -> int:
    tasks = dict(request["tasks"])
    commands: list[Outgoing] = []
    resent, given_up = [], []
    for service, task in request["tasks"].items():
        if task["status"] != TaskStatus.IN_PROGRESS.value or task["next_attempt_at"] > now:
            continue
        attempts = task["attempts"] + 1
        wait = lifecycle.retry_wait(desk.settings.privacy_task_retry_seconds, attempts)
        waited = (now - task["sent_at"]).total_seconds()
        if wait is None:
            tasks[service] = {
                **task,
                "status": TaskStatus.FAILED.value,
                "last_error": f"no answer after {task['attempts']} attempts",
                "error": "the service did not answer",
            }
            given_up.append(service)
            continue
        tasks[service] = {
            **task,
            "attempts": attempts,
            "sent_at": now,
            "next_attempt_at": now + timedelta(seconds=wait),
            "last_error": f"no answer within {waited:.0f} s; sent again",
        }
        commands.append(
            desk.bus.outgoing(lifecycle.task_command(request, tasks[service]), to=service)
        )
        resent.append(service)
    if not await _store_retries(desk, request, tasks, commands):
        return 0
    await _record(desk, request, tasks, resent, given_up, now)
    if given_up:
        await results.close(desk, request["_id"])
    return len(resent) + len(given_up)


async def _store_retries(
    desk: Desk, request: dict[str, Any], tasks: dict[str, Any], commands: list[Outgoing]
) -> bool:
    """One conditional write of the tasks this sweep changed, each still as it was read: an
    answer recorded meanwhile makes the write fail, and the next sweep reads it again."""
    read = request["tasks"]
    changed = {service: task for service, task in tasks.items() if task is not read[service]}
    criteria: dict[str, Any] = {"_id": request["_id"], "retry.at": request["retry"]["at"]}
    for service in changed:
        criteria[f"tasks.{service}.task_id"] = read[service]["task_id"]
        criteria[f"tasks.{service}.status"] = TaskStatus.IN_PROGRESS.value
        criteria[f"tasks.{service}.attempts"] = read[service]["attempts"]
    changes: dict[str, Any] = {"$set": {f"tasks.{s}": t for s, t in changed.items()}}
    retry_at = lifecycle.earliest_retry(tasks)
    if retry_at is None:
        changes["$unset"] = {"retry": ""}
    else:
        changes["$set"]["retry"] = {"at": retry_at}
    if commands:
        changes = add_outbox(changes, *commands)
    written = await desk.requests.update_one(criteria, changes)
    return bool(written.modified_count == 1)


async def _record(
    desk: Desk,
    request: dict[str, Any],
    tasks: dict[str, Any],
    resent: list[str],
    given_up: list[str],
    now: datetime,
) -> None:
    for service in resent:
        task = tasks[service]
        log.warning("privacy_task_resent", request_id=request["_id"], task_service=service)
        await audit.append(
            desk.db,
            AuditKind.TASK_RESENT,
            key=f"resent:{task['task_id']}:{task['attempts']}",
            now=now,
            request_id=request["_id"],
            detail={"service": service, "task_id": task["task_id"], "attempt": task["attempts"]},
        )
    for service in given_up:
        task = tasks[service]
        log.error("privacy_task_gave_up", request_id=request["_id"], task_service=service)
        await audit.append(
            desk.db,
            AuditKind.TASK_GAVE_UP,
            key=f"gave_up:{task['task_id']}",
            now=now,
            request_id=request["_id"],
            detail={"service": service, "task_id": task["task_id"], "attempts": task["attempts"]},
        )


async def run_sweeper(desk: Desk) -> None:
    """Sweep for unanswered tasks every `PRIVACY_TASK_SWEEP_SECONDS`, for as long as the
    service runs; a failed sweep is logged and tried again next time."""
    while True:
        try:
            await sweep_once(desk)
        except Exception as failure:
            log.warning("privacy_task_sweep_failed", error=repr(failure))
        await asyncio.sleep(desk.settings.privacy_task_sweep_seconds)
