"""The API's endpoint functions: translate a call into a bus request and back."""

from __future__ import annotations

from contracts.privacy import (
    GetPrivacyRequest,
    ListPrivacyRequests,
    PrivacyRequestPage,
    PrivacyRequestView,
    SubmitPrivacyRequest,
)
from gateway.api import Call
from gateway.schemas import CreatePrivacyRequest, PageQuery, Pong
from servicekit.bus import Bus
from servicekit.clock import utcnow


class GatewayHandlers:
    """Endpoint functions over the bus."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def ping(self, call: Call) -> Pong:
        """Who the key belongs to; proves the key works."""
        return Pong(
            partner_id=call.principal.partner_id,
            key_id=call.principal.key_id,
            mode=call.principal.mode,
            time=utcnow(),
        )

    async def create_privacy_request(self, call: Call) -> PrivacyRequestView:
        """Open a data-subject request; it runs in the background (poll it by id)."""
        body: CreatePrivacyRequest = call.body
        command = SubmitPrivacyRequest(
            partner_id=call.principal.partner_id,
            type=body.type,
            subject=body.subject,
            changes=body.changes,
        )
        return await self.bus.request(
            command, to="privacy", reply=PrivacyRequestView, timeout=self.timeout
        )

    async def get_privacy_request(self, call: Call) -> PrivacyRequestView:
        """One of the partner's data-subject requests."""
        query = GetPrivacyRequest(partner_id=call.principal.partner_id, request_id=call.path["id"])
        return await self.bus.request(
            query, to="privacy", reply=PrivacyRequestView, timeout=self.timeout
        )

    async def list_privacy_requests(self, call: Call) -> PrivacyRequestPage:
        """The partner's data-subject requests, newest first."""
        page: PageQuery = call.query
        query = ListPrivacyRequests(
            partner_id=call.principal.partner_id, limit=page.limit, cursor=page.cursor
        )
        return await self.bus.request(
            query, to="privacy", reply=PrivacyRequestPage, timeout=self.timeout
        )
