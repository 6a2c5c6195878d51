"""A partner's webhook endpoints: create, list, get, update, delete and rotate the secret.

Every handler acts for the actor's own partner only; another partner's endpoint is as unknown
as a missing one. Secrets are sealed with the partner's key (`servicekit.vault`).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from contracts.accounts import Actor, Scope, scopes_of
from contracts.webhooks import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    GetWebhookEndpoint,
    ListWebhookEndpoints,
    NewWebhookSecret,
    RotateWebhookSecret,
    UpdateWebhookEndpoint,
    WebhookEndpointPage,
    WebhookEndpointView,
    WebhookEventType,
)
from provisioning.settings import ProvisioningSettings
from provisioning.webhook_store import (
    ENDPOINTS,
    MAX_ENDPOINTS_PER_PARTNER,
    Document,
    endpoint_document,
    endpoint_view,
)
from provisioning.webhook_urls import Resolver, check_url, resolve
from servicekit.clock import Clock
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.vault import Vault

NO_ENDPOINT = ServiceError("not_found", "no such webhook endpoint")


def _nothing() -> None:
    pass


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def require_own(actor: Actor, partner_id: str) -> None:
    """Reading webhooks: a partner's user, or its key with `webhooks:manage`, for its own
    partner only."""
    if actor.kind == "platform":
        return
    if actor.partner_id != partner_id:
        raise ServiceError("forbidden", "you may manage only your own webhooks")
    if actor.kind == "api_key" and Scope.WEBHOOKS_MANAGE not in actor.scopes:
        raise ServiceError("forbidden", "this needs the webhooks:manage scope")


def require_manager(actor: Actor, partner_id: str) -> None:
    """Changing webhooks: as reading, and a user's role must grant `webhooks:manage` too."""
    require_own(actor, partner_id)
    if actor.kind == "user" and Scope.WEBHOOKS_MANAGE not in scopes_of(actor):
        raise ServiceError("forbidden", "your role may not change webhook endpoints")


class Endpoints:
    """The endpoint handlers over provisioning's store; time comes from `clock`."""

    def __init__(
        self,
        service: Service,
        settings: ProvisioningSettings,
        vault: Vault,
        clock: Clock,
        resolver: Resolver = resolve,
    ) -> None:
        self.db = service.db
        self.resolver = resolver
        self.settings = settings
        self.vault = vault
        self.clock = clock
        self.kick: Callable[[], None] = _nothing

    def now(self) -> datetime:
        """The current time, to the millisecond the store keeps."""
        moment = self.clock()
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    async def create(
        self, query: CreateWebhookEndpoint, context: MessageContext
    ) -> NewWebhookSecret:
        """A new endpoint and its secret, shown once; a retried request answers the same."""
        require_manager(query.actor, query.partner_id)
        await self.check_url(str(query.url), query.mode)
        existing = await self.db[ENDPOINTS].count_documents({"partner_id": query.partner_id})
        if existing >= MAX_ENDPOINTS_PER_PARTNER:
            raise ServiceError("conflict", f"at most {MAX_ENDPOINTS_PER_PARTNER} endpoints")
        endpoint_id, secret = new_id("whe"), new_secret()
        sealed = await self.vault.seal(query.partner_id, endpoint_id, {"secret": secret})
        document = endpoint_document(
            endpoint_id=endpoint_id,
            partner_id=query.partner_id,
            url=str(query.url),
            event_types=sorted(set(query.event_types), key=list(WebhookEventType).index),
            mode=query.mode,
            enabled=query.enabled,
            sealed_secret=sealed["secret"],
            request_id=context.message_id,
            now=self.now(),
        )
        try:
            await self.db[ENDPOINTS].insert_one(document)
        except DuplicateKeyError:
            document = await self._by_request(query.partner_id, context.message_id)
            secret = await self.open_secret(document, "secret")
        return NewWebhookSecret(secret=secret, endpoint=endpoint_view(document))

    async def list_endpoints(
        self, query: ListWebhookEndpoints, _context: MessageContext
    ) -> WebhookEndpointPage:
        """The partner's endpoints, newest first."""
        require_own(query.actor, query.partner_id)
        cursor = self.db[ENDPOINTS].find({"partner_id": query.partner_id}).sort("_id", -1)
        return WebhookEndpointPage(data=[endpoint_view(d) for d in await cursor.to_list()])

    async def get(self, query: GetWebhookEndpoint, _context: MessageContext) -> WebhookEndpointView:
        """One endpoint of the partner."""
        require_own(query.actor, query.partner_id)
        return endpoint_view(await self.own_endpoint(query.partner_id, query.endpoint_id))

    async def update(
        self, query: UpdateWebhookEndpoint, _context: MessageContext
    ) -> WebhookEndpointView:
        """Change the fields given; enabling resets the failure count."""
        require_manager(query.actor, query.partner_id)
        endpoint = await self.own_endpoint(query.partner_id, query.endpoint_id)
        change: dict[str, Any] = {}
        if query.url is not None:
            url = str(query.url)
            await self.check_url(url, endpoint["mode"])
            change["url"] = url
        if query.event_types is not None:
            change["event_types"] = sorted({t.value for t in query.event_types})
        update: dict[str, Any] = {"$set": change} if change else {}
        if query.enabled is True:
            change.update(status="enabled", failures=0)
            update = {"$set": change, "$unset": {"disabled": ""}}
        elif query.enabled is False:
            change["status"] = "disabled"
            update = {"$set": {**change, "disabled": {"reason": "partner", "at": self.now()}}}
        if not update:
            return endpoint_view(endpoint)
        updated = await self.db[ENDPOINTS].find_one_and_update(
            {"_id": endpoint["_id"]}, update, return_document=ReturnDocument.AFTER
        )
        if updated is None:
            raise NO_ENDPOINT
        return endpoint_view(updated)

    async def delete(
        self, query: DeleteWebhookEndpoint, _context: MessageContext
    ) -> WebhookEndpointView:
        """Delete the endpoint; its due deliveries end as exhausted when next picked."""
        require_manager(query.actor, query.partner_id)
        endpoint = await self.own_endpoint(query.partner_id, query.endpoint_id)
        await self.db[ENDPOINTS].delete_one({"_id": endpoint["_id"]})
        return endpoint_view(endpoint)

    async def rotate(
        self, query: RotateWebhookSecret, _context: MessageContext
    ) -> NewWebhookSecret:
        """A new secret; during the overlap both the new and the old secret sign."""
        require_manager(query.actor, query.partner_id)
        endpoint = await self.own_endpoint(query.partner_id, query.endpoint_id)
        secret = new_secret()
        sealed = await self.vault.seal(query.partner_id, endpoint["_id"], {"secret": secret})
        until = self.now() + timedelta(hours=self.settings.webhook_secret_overlap_hours)
        previous = {"secret": endpoint["secret"], "until": until}
        updated = await self.db[ENDPOINTS].find_one_and_update(
            {"_id": endpoint["_id"], "secret": endpoint["secret"]},
            {"$set": {"secret": sealed["secret"], "previous": previous}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise ServiceError("conflict", "the secret was rotated meanwhile; try again")
        return NewWebhookSecret(secret=secret, endpoint=endpoint_view(updated))

    async def check_url(self, url: str, mode: str) -> None:
        """Refuse a URL this endpoint may not be sent to (SSRF rules, `webhook_urls`)."""
        allow = self.settings.webhooks_allow_private_urls
        await check_url(
            url, "live" if mode == "live" else "test", allow_private=allow, resolver=self.resolver
        )

    async def own_endpoint(self, partner_id: str, endpoint_id: str) -> Document:
        """The partner's endpoint; another partner's is as unknown as a missing one."""
        found = await self.db[ENDPOINTS].find_one({"_id": endpoint_id, "partner_id": partner_id})
        if found is None:
            raise NO_ENDPOINT
        return found

    async def open_secret(self, endpoint: Document, field: str) -> str:
        """A sealed secret of the endpoint (`secret`, or `previous` for the rotated one)."""
        token = endpoint[field]["secret"] if field == "previous" else endpoint[field]
        opened = await self.vault.open(endpoint["_id"], {"secret": token}, ["secret"])
        if opened["secret"] is None:
            raise ServiceError("not_found", "the endpoint's secret is gone")
        return opened["secret"]

    async def _by_request(self, partner_id: str, request_id: str) -> Document:
        found = await self.db[ENDPOINTS].find_one(
            {"request_id": request_id, "partner_id": partner_id}
        )
        if found is None:
            raise ServiceError("conflict", "this request was already used")
        return found
