"""The API's endpoint functions: translate a call into a bus request and back."""

from __future__ import annotations

from contracts.accounts import Actor
from contracts.apikeys import (
    ApiKeyPage,
    ApiKeyView,
    CreateApiKey,
    ListApiKeys,
    NewApiKey,
    RevokeApiKey,
    RotateApiKey,
)
from contracts.privacy import (
    GetPrivacyRequest,
    ListPrivacyRequests,
    PrivacyRequestPage,
    PrivacyRequestView,
    RequestChannel,
    SubmitPrivacyRequest,
)
from gateway.api import Call
from gateway.principals import Verifier
from gateway.schemas import (
    CreateApiKeyBody,
    CreatedApiKey,
    CreatePrivacyRequest,
    PageQuery,
    Pong,
)
from servicekit.bus import Bus
from servicekit.clock import utcnow


def actor_of(call: Call) -> Actor:
    """The calling key as accounts sees it; its partner comes only from the key."""
    principal = call.principal
    return Actor(
        kind="api_key",
        id=principal.key_id,
        partner_id=principal.partner_id,
        scopes=principal.scopes,
        mode=principal.mode,
    )


def created(reply: NewApiKey) -> CreatedApiKey:
    """The API's view of a new key: the full key in plain text, this once."""
    return CreatedApiKey(
        api_key=reply.api_key.get_secret_value(), key=reply.key, replaces=reply.replaces
    )


class GatewayHandlers:
    """Endpoint functions over the bus."""

    def __init__(self, bus: Bus, timeout: float, verifier: Verifier) -> None:
        self.bus = bus
        self.timeout = timeout
        self.verifier = verifier

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
        query = GetPrivacyRequest(
            partner_id=call.principal.partner_id,
            request_id=call.path["id"],
            channel=RequestChannel.PARTNER,
        )
        return await self.bus.request(
            query, to="privacy", reply=PrivacyRequestView, timeout=self.timeout
        )

    async def list_privacy_requests(self, call: Call) -> PrivacyRequestPage:
        """The partner's data-subject requests, newest first."""
        page: PageQuery = call.query
        query = ListPrivacyRequests(
            partner_id=call.principal.partner_id,
            channels=[RequestChannel.PARTNER],
            limit=page.limit,
            cursor=page.cursor,
        )
        return await self.bus.request(
            query, to="privacy", reply=PrivacyRequestPage, timeout=self.timeout
        )

    async def list_api_keys(self, call: Call) -> ApiKeyPage:
        """The partner's working keys (not revoked, not expired), newest first."""
        page: PageQuery = call.query
        query = ListApiKeys(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            limit=page.limit,
            cursor=page.cursor,
        )
        return await self.bus.request(query, to="accounts", reply=ApiKeyPage, timeout=self.timeout)

    async def create_api_key(self, call: Call) -> CreatedApiKey:
        """A new key, shown once; by default in the mode of the calling key."""
        body: CreateApiKeyBody = call.body
        command = CreateApiKey(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            name=body.name,
            scopes=body.scopes,
            mode=body.mode or call.principal.mode,
        )
        reply = await self.bus.request(
            command, to="accounts", reply=NewApiKey, timeout=self.timeout
        )
        return created(reply)

    async def revoke_api_key(self, call: Call) -> ApiKeyView:
        """Revoke a key now; this replica stops accepting it before answering."""
        command = RevokeApiKey(
            actor=actor_of(call), partner_id=call.principal.partner_id, key_id=call.path["id"]
        )
        view = await self.bus.request(
            command, to="accounts", reply=ApiKeyView, timeout=self.timeout
        )
        self.verifier.revoked(view.id, view.revoked_at or utcnow())
        return view

    async def rotate_api_key(self, call: Call) -> CreatedApiKey:
        """Replace a key; the old one keeps working until the overlap window ends."""
        command = RotateApiKey(
            actor=actor_of(call), partner_id=call.principal.partner_id, key_id=call.path["id"]
        )
        reply = await self.bus.request(
            command, to="accounts", reply=NewApiKey, timeout=self.timeout
        )
        if reply.replaces is not None and reply.replaces.expires_at is not None:
            self.verifier.revoked(reply.replaces.id, reply.replaces.expires_at)
        return created(reply)
