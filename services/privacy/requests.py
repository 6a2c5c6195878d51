"""The request desk: loads requests, moves them between states, starts their fan-out.

Every move is one conditional single-document write (the request must be in one of the states
it may leave), carrying the task commands it sends in the document's outbox, and is then
recorded in the audit trail. A move from a state the request is no longer in is refused with
`conflict`, naming the state it is in.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from contracts.privacy import RequestStatus, TaskStatus
from privacy import audit, ledger, lifecycle, store
from privacy.audit import AuditKind
from privacy.erasure_events import subject_erased
from privacy.restriction_events import subject_restriction_changed
from privacy.settings import PrivacySettings
from privacy.store import Db
from servicekit.bus import Bus
from servicekit.clock import Clock, utcnow
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.messages import Outgoing
from servicekit.outbox import add_outbox

REGISTRY_CACHE_SECONDS = 5.0
"""How long a process answers "which services hold data found by these identifiers" from
the registry it last read. An announcement handled here drops it at once; one handled by
another replica is seen here at most this late, as if it had waited that long in its queue
(a request opened meanwhile fans out to the services registered before, exactly as one
opened just before the announcement would)."""

SEEN_REQUESTS = 4096
"""Requests whose last write a process remembers (`Desk.remember`)."""


@dataclass(frozen=True)
class Fanout:
    """The tasks a request starts with, the fields that record them and the commands to send."""

    fields: dict[str, Any]
    commands: list[Outgoing]
    tasks: dict[str, dict[str, Any]]


@dataclass
class Desk:
    """What every part of the request lifecycle works with."""

    db: Db
    bus: Bus
    settings: PrivacySettings
    clock: Clock = utcnow
    _owners_known: bool = field(default=False, init=False, repr=False)
    _registry: tuple[float, store.Registry] | None = field(default=None, init=False, repr=False)
    _registry_changes: int = field(default=0, init=False, repr=False)
    _seen: OrderedDict[str, dict[str, Any]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )

    @property
    def requests(self) -> Any:
        """The requests collection."""
        return self.db[store.REQUESTS]

    async def owners_registered(self) -> bool:
        """Whether any data-owning service has announced its inventory yet.

        Announcements are never withdrawn, so once there is one the store is not asked again.
        """
        if not self._owners_known:
            self._owners_known = bool(await store.registered_services(self.db))
        return self._owners_known

    async def services_for(self, kinds: set[str]) -> list[str]:
        """The registered services that can find a subject by one of these identifier kinds,
        from the registry as read at most `REGISTRY_CACHE_SECONDS` ago."""
        now = time.monotonic()
        cached = self._registry
        if cached is not None and now - cached[0] <= REGISTRY_CACHE_SECONDS:
            return store.services_in(cached[1], kinds)
        changes = self._registry_changes
        registered = await store.registry(self.db)
        if changes == self._registry_changes:  # not read across a registration
            self._registry = (now, registered)
        return store.services_in(registered, kinds)

    def registry_changed(self) -> None:
        """An announcement was registered: the next fan-out reads the registry again."""
        self._registry = None
        self._registry_changes += 1

    def remember(self, request: Mapping[str, Any]) -> None:
        """Keep the request as just written, for a guess at its next write (a hint only:
        every write guessed from it is conditional on what it assumes)."""
        self._seen[request["_id"]] = dict(request)
        self._seen.move_to_end(request["_id"])
        while len(self._seen) > SEEN_REQUESTS:
            self._seen.popitem(last=False)

    def last_seen(self, request_id: str) -> dict[str, Any] | None:
        """The request as this process last wrote it, if it still remembers."""
        return self._seen.get(request_id)

    def forget(self, request_id: str) -> None:
        """The request closed: nothing more to guess."""
        self._seen.pop(request_id, None)

    async def load(self, request_id: str, partner_id: str | None = None) -> dict[str, Any]:
        """A request; `not_found` if it does not exist or belongs to another partner."""
        criteria: dict[str, Any] = {"_id": request_id}
        if partner_id is not None:
            criteria["partner_id"] = partner_id
        document = await self.requests.find_one(criteria)
        if document is None:
            raise ServiceError("not_found", "no such privacy request")
        return dict(document)

    async def fanout(
        self,
        request: Mapping[str, Any],
        now: datetime,
        correlation_id: str | None = None,
        services: Sequence[str] | None = None,
    ) -> Fanout:
        """One task per service that can find the subject by one of its identifiers (those
        `services`, when the caller has read them from the registry already)."""
        if services is None:
            services = await self.services_for(set(request["subject"]))
        action = lifecycle.ACTION_OF[request["type"]]
        wait = self.settings.privacy_task_retry_seconds[0]
        tasks = {
            service: lifecycle.new_task(request["_id"], service, action, run=1, now=now, wait=wait)
            for service in services
        }
        commands = [
            self.bus.outgoing(
                lifecycle.task_command(request, task), to=service, correlation_id=correlation_id
            )
            for service, task in tasks.items()
        ]
        erased = subject_erased(self.settings, request, now)
        if erased is not None:
            commands.append(self.bus.outgoing(erased, correlation_id=correlation_id))
        flagged = subject_restriction_changed(self.settings, request, now)
        if flagged is not None:
            commands.append(self.bus.outgoing(flagged, correlation_id=correlation_id))
        fields: dict[str, Any] = {"status": RequestStatus.IN_PROGRESS.value, "tasks": tasks}
        retry_at = lifecycle.earliest_retry(tasks)
        if retry_at is not None:
            fields["retry"] = {"at": retry_at}
        return Fanout(fields=fields, commands=commands, tasks=tasks)

    async def started(self, request: Mapping[str, Any]) -> None:
        """What follows a fan-out's start: an erasure's entry in the erasure ledger."""
        await ledger.record(self.db, self.settings, request, self.clock())

    def first_steps(self, request_type: str, channel: str) -> list[RequestStatus]:
        """The states a new request passes through on its way in, up to where it waits."""
        if channel == "self":
            return [RequestStatus.IDENTITY_UNVERIFIED]
        return [RequestStatus.VERIFIED, *self.after_verification(request_type)]

    def after_verification(self, request_type: str) -> list[RequestStatus]:
        """Awaiting approval if the type needs it, else in progress."""
        if request_type in self.settings.privacy_approval_required:
            return [RequestStatus.AWAITING_APPROVAL]
        return [RequestStatus.IN_PROGRESS]

    async def move(
        self,
        request: Mapping[str, Any],
        steps: Sequence[RequestStatus],
        *,
        leaving: Collection[RequestStatus],
        by: str | None = None,
        reason: str | None = None,
        fields: Mapping[str, Any] | None = None,
        unset: Collection[str] = (),
        commands: Sequence[Outgoing] = (),
    ) -> dict[str, Any]:
        """Move a request through `steps` (recorded one by one) to the last of them, if it is
        still in one of the `leaving` states; the request as it now is."""
        now = self.clock()
        changes: dict[str, Any] = {"$set": {"status": steps[-1].value, **(fields or {})}}
        if reason is not None:
            changes["$set"]["status_reason"] = reason
        gone = [*unset, *([] if reason is not None else ["status_reason"])]
        if gone:
            changes["$unset"] = dict.fromkeys(gone, "")
        if commands:
            changes = add_outbox(changes, *commands)
        moved = await self.requests.find_one_and_update(
            {"_id": request["_id"], "status": {"$in": [s.value for s in leaving]}},
            changes,
            return_document=ReturnDocument.AFTER,
        )
        if moved is None:
            current = await self.load(request["_id"])
            raise ServiceError(
                "conflict", f"the request is {current['status']}; it cannot become {steps[-1]}"
            )
        await self.record_steps(moved, request["status"], steps, now, by=by, reason=reason)
        return dict(moved)

    async def record_steps(
        self,
        request: Mapping[str, Any],
        was: str,
        steps: Sequence[RequestStatus],
        now: datetime,
        *,
        by: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Each state change in the audit trail, and each task sent on entering in progress."""
        await audit.append_all(
            self.db, step_entries(request, was, steps, now, by=by, reason=reason)
        )

    async def record_tasks_sent(
        self, request: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]], now: datetime
    ) -> None:
        """Each task's first send (of its run) in the audit trail."""
        await audit.append_all(self.db, tasks_sent_entries(request, tasks, now))


def step_entries(
    request: Mapping[str, Any],
    was: str,
    steps: Sequence[RequestStatus],
    now: datetime,
    *,
    by: str | None = None,
    reason: str | None = None,
) -> list[audit.Pending]:
    """The audit entries of a request's state changes, and of the tasks it sends on entering
    in progress."""
    entries = []
    for step in steps:
        detail = {"from": was, "to": step.value, "by": by, "reason": reason}
        entries.append(
            audit.entry(
                AuditKind.STATUS_CHANGED,
                key=f"status:{request['_id']}:{new_id('st')}",
                now=now,
                request_id=request["_id"],
                detail={k: v for k, v in detail.items() if v is not None},
            )
        )
        was = step.value
    if RequestStatus.IN_PROGRESS in steps:
        entries += tasks_sent_entries(request, request.get("tasks", {}), now)
    return entries


def tasks_sent_entries(
    request: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]], now: datetime
) -> list[audit.Pending]:
    """The audit entries of each task's first send (of its run)."""
    return [
        audit.entry(
            AuditKind.TASK_SENT,
            key=f"sent:{task['task_id']}",
            now=now,
            request_id=request["_id"],
            detail={"service": service, "task_id": task["task_id"], "action": task["action"]},
        )
        for service, task in sorted(tasks.items())
        if task["status"] == TaskStatus.IN_PROGRESS.value
    ]
