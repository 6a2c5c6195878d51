"""Intake: a new request is stored in the state it waits in, in one write.

A partner's request (identity attested by the partner) and an ops request are verified on
arrival: they pass through `received` and `verified` to `awaiting_approval` (types that need
approval) or straight to `in_progress`, their task commands in the same write. A person asking
about themselves waits in `identity_unverified` until the code emailed to them comes back.
Each state passed is in the audit trail. A duplicate of an open request is linked to it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from contracts.privacy import (
    PrivacyRequestView,
    RequestChannel,
    RequestStatus,
    RequestType,
    ResendVerificationCode,
    SubmitPrivacyRequest,
    VerifyPrivacyRequest,
)
from privacy import audit, lifecycle, results, store, verification
from privacy.audit import AuditKind
from privacy.erasure_events import required_blind_index
from privacy.requests import Desk, step_entries
from privacy.restriction_events import BROADCAST_TYPES, NEEDED_FOR
from privacy.verification import CodeOutcome
from servicekit.errors import ServiceError
from servicekit.grouped import inserts_into
from servicekit.ids import new_id
from servicekit.mail import Mailer
from servicekit.messages import MessageContext
from servicekit.outbox import with_outbox

log = structlog.get_logger("privacy")

CHECK_MESSAGES = {
    CodeOutcome.WRONG: "wrong code; {0.attempts_left} attempts left",
    CodeOutcome.EXPIRED: "the code has expired; ask for a new one",
    CodeOutcome.NO_CODE: "no code is waiting for this request; ask for a new one",
}

ATTESTED = {RequestChannel.PARTNER: "attested by the partner", RequestChannel.OPS: "ops"}


class Intake:
    """Opens requests and verifies the identity of people asking about themselves."""

    def __init__(self, desk: Desk, mailer: Mailer) -> None:
        self.desk = desk
        self.mailer = mailer

    async def submit(
        self, request: SubmitPrivacyRequest, context: MessageContext
    ) -> PrivacyRequestView:
        """Open a request (or answer the open one it duplicates)."""
        if not await self.desk.owners_registered():
            raise ServiceError("unavailable", "no data-owning service has registered yet")
        if request.type is RequestType.ERASURE:
            required_blind_index(self.desk.settings)
        if request.type in BROADCAST_TYPES:
            required_blind_index(self.desk.settings, NEEDED_FOR)
        request_id = new_id("dsr")
        subject = request.subject.model_dump(mode="json", exclude_none=True)
        key = store.open_key(request.scope_partner_id, request.type.value, subject, request.changes)
        # The claim and the registry read are independent: one round trip instead of two.
        linked, services = await asyncio.gather(
            store.claim_open(self.desk.db, key, request_id),
            self.desk.services_for(set(subject)),
        )
        if linked is not None:
            found = await self.desk.requests.find_one({"_id": linked})
            if found is not None:
                log.info("privacy_request_linked", request_id=linked)
                return lifecycle.view_of(found)
        document = self._new_document(request_id, request, subject)
        steps = self.desk.first_steps(request.type.value, request.channel.value)
        document["status"] = steps[-1].value
        fanout = None
        if steps[-1] is RequestStatus.IN_PROGRESS:
            fanout = await self.desk.fanout(
                document, document["created_at"], context.correlation_id, services
            )
            document.update(fanout.fields)
        commands = fanout.commands if fanout is not None else []
        # A new id: written together with the requests opened meanwhile, never a duplicate.
        await inserts_into(self.desk.requests).insert(with_outbox(document, *commands))
        log.info("privacy_request_opened", request_id=request_id, status=document["status"])
        # The audit entries and the erasure ledger's entry are independent writes.
        after_insert = [self._record_arrival(document, request, steps)]
        if fanout is not None:
            after_insert.append(self.desk.started(document))
        await asyncio.gather(*after_insert)
        if request.channel is RequestChannel.SELF:
            await self._send_code(document)
        if fanout is not None and not fanout.tasks:
            return await self._nothing_to_do(request_id)
        return lifecycle.view_of(document)

    async def _nothing_to_do(self, request_id: str) -> PrivacyRequestView:
        """No service can find the subject by its identifiers: the request completes at once."""
        await results.close(self.desk, request_id)
        return lifecycle.view_of(await self.desk.load(request_id))

    def _new_document(
        self, request_id: str, request: SubmitPrivacyRequest, subject: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.desk.clock()
        document: dict[str, Any] = {
            "_id": request_id,
            "type": request.type.value,
            "channel": request.channel.value,
            "status": RequestStatus.RECEIVED.value,
            "subject": subject,
            "created_at": now,
            "deadline": {"at": lifecycle.due_at(now, 0), "extended_months": 0},
            "extensions": [],
            "tasks": {},
        }
        optional = {
            "partner_id": request.partner_id,
            "scope_partner_id": request.scope_partner_id,
            "requested_by": request.requested_by,
            "changes": request.changes,
        }
        document.update({name: value for name, value in optional.items() if value is not None})
        return document

    async def _record_arrival(
        self, document: dict[str, Any], request: SubmitPrivacyRequest, steps: list[RequestStatus]
    ) -> None:
        now = document["created_at"]
        created = audit.entry(
            AuditKind.REQUEST_CREATED,
            key=f"created:{document['_id']}",
            now=now,
            request_id=document["_id"],
            detail={
                "type": request.type.value,
                "channel": request.channel.value,
                "services": sorted(document["tasks"]),
            },
        )
        by = ATTESTED.get(request.channel)
        moved = step_entries(document, RequestStatus.RECEIVED.value, steps, now, by=by)
        await audit.append_all(self.desk.db, [created, *moved])

    async def _send_code(self, document: dict[str, Any]) -> None:
        try:
            await verification.send_code(
                self.desk.db,
                self.mailer,
                document["_id"],
                document["subject"]["email"],
                self.desk.clock(),
                request_type=RequestType(document["type"]),
                rules=verification.CodeRules.from_settings(self.desk.settings),
            )
        except verification.VerificationMailFailed as failure:
            raise ServiceError(
                "unavailable",
                f"request {document['_id']} is open but its verification code could not be"
                " sent; ask for a new code",
            ) from failure

    async def verify(
        self, query: VerifyPrivacyRequest, _context: MessageContext
    ) -> PrivacyRequestView:
        """The right code moves the request on; the third wrong one rejects it."""
        request = await self.desk.load(query.request_id, query.partner_id)
        if request["status"] != RequestStatus.IDENTITY_UNVERIFIED.value:
            return lifecycle.view_of(request)
        check = await verification.check_code(
            self.desk.db, query.request_id, query.code, self.desk.clock()
        )
        if check.outcome is CodeOutcome.VERIFIED:
            return await self._verified(request)
        if check.outcome is CodeOutcome.EXHAUSTED:
            await self.desk.move(
                request,
                [RequestStatus.REJECTED],
                leaving=[RequestStatus.IDENTITY_UNVERIFIED],
                reason="identity not verified: too many wrong codes",
            )
            await store.release_open(self.desk.db, request)
            raise ServiceError("verification_failed", "wrong code; the request was rejected")
        raise ServiceError("verification_failed", CHECK_MESSAGES[check.outcome].format(check))

    async def _verified(self, request: dict[str, Any]) -> PrivacyRequestView:
        steps = [RequestStatus.VERIFIED, *self.desk.after_verification(request["type"])]
        fields: dict[str, Any] = {}
        commands = []
        if steps[-1] is RequestStatus.IN_PROGRESS:
            fanout = await self.desk.fanout(request, self.desk.clock())
            fields, commands = fanout.fields, fanout.commands
        moved = await self.desk.move(
            request,
            steps,
            leaving=[RequestStatus.IDENTITY_UNVERIFIED],
            by="code emailed to the subject",
            fields=fields,
            commands=commands,
        )
        if steps[-1] is RequestStatus.IN_PROGRESS:
            await self.desk.started(moved)
        if steps[-1] is RequestStatus.IN_PROGRESS and not moved["tasks"]:
            return await self._nothing_to_do(moved["_id"])
        return lifecycle.view_of(moved)

    async def resend(
        self, query: ResendVerificationCode, _context: MessageContext
    ) -> PrivacyRequestView:
        """A new code for a request still waiting for one."""
        request = await self.desk.load(query.request_id, query.partner_id)
        if request["status"] != RequestStatus.IDENTITY_UNVERIFIED.value:
            raise ServiceError("conflict", f"the request is {request['status']}; no code needed")
        await self._send_code(request)
        return lifecycle.view_of(request)
