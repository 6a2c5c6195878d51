"""A rig for the webhook tests: provisioning's webhook part in-process, a caller on the bus,
and a real receiver that verifies every request with the `standardwebhooks` library."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook, WebhookVerificationError

from contracts import Query, Reply
from contracts.accounts import Actor, Scope
from contracts.webhooks import (
    CreateWebhookEndpoint,
    NewWebhookSecret,
    WebhookDeliveryView,
    WebhookEndpointDisabled,
)
from provisioning import webhooks
from provisioning.settings import ProvisioningSettings
from provisioning.webhook_store import DELIVERIES
from provisioning.webhook_urls import resolve
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import running
from support.waiting import eventually

R = TypeVar("R", bound=Reply)

PARTNER_A = "ptn_hooks_a"
PARTNER_B = "ptn_hooks_b"
KEY_A = Actor(kind="api_key", id="key_a", partner_id=PARTNER_A, scopes=[Scope.WEBHOOKS_MANAGE])
KEY_B = Actor(kind="api_key", id="key_b", partner_id=PARTNER_B, scopes=[Scope.WEBHOOKS_MANAGE])
RETRY_DELAYS_MS = [50, 100]
TIMEOUT_SECONDS = 0.5
SLOW_SECONDS = 1.5
DISABLE_AFTER = 2


def webhook_settings(base: ServiceSettings, **overrides: Any) -> ProvisioningSettings:
    """Provisioning settings with fresh keys, millisecond retries and private URLs allowed."""
    values: dict[str, Any] = {
        **base.model_dump(),
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        "webhook_retry_delays_ms": RETRY_DELAYS_MS,
        "webhook_disable_after": DISABLE_AFTER,
        "webhook_timeout_seconds": TIMEOUT_SECONDS,
        "webhook_poll_seconds": 0.05,
        "webhooks_allow_private_urls": True,
    }
    values.update(overrides)
    return ProvisioningSettings.model_validate(values)


PUBLIC_HOSTS = {"example.com": ["93.184.215.14"], "partner.example": ["93.184.215.15"]}
"""Hosts the tests treat as public (the sandbox has no DNS): a stand-in resolver answers them."""


async def fake_dns(host: str, port: int) -> list[str]:
    """Public test hosts from `PUBLIC_HOSTS`; everything else through the real resolver."""
    if host in PUBLIC_HOSTS:
        return PUBLIC_HOSTS[host]
    return await resolve(host, port)


@dataclass
class Received:
    """One request the receiver got, and whether it verified."""

    headers: dict[str, str]
    body: str
    verified: bool


@dataclass
class Receiver:
    """A partner's endpoint: verifies with `secrets` (any one may match), answers 500 to the
    first `failures` requests and 204 after."""

    secrets: list[str] = field(default_factory=list)
    failures: int = 0
    slow: int = 0
    """How many requests (the first ones) answer only after `SLOW_SECONDS`."""
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def verifies(self, body: str, headers: dict[str, str]) -> bool:
        """Whether any of the secrets verifies the request on its own."""
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        headers = dict(request.headers)
        verified = self.verifies(body, headers)
        self.received.append(Received(headers, body, verified))
        if self.slow > 0:
            self.slow -= 1
            await asyncio.sleep(SLOW_SECONDS)
        if not verified:
            return web.Response(status=400)
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500)
        return web.Response(status=204)


@dataclass
class Rig:
    """The running webhook handlers, a caller on the bus, and the receiver."""

    provisioning: Service
    caller: Service
    receiver: Receiver
    hooks: webhooks.Webhooks
    disabled: list[WebhookEndpointDisabled] = field(default_factory=list)

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Ask provisioning (RemoteCallError on an error)."""
        return await self.caller.bus.request(query, to="provisioning", reply=reply, timeout=10)

    async def create(self, actor: Actor = KEY_A, **fields: Any) -> NewWebhookSecret:
        """Create an endpoint to the receiver (by default) and teach the receiver its secret."""
        query = CreateWebhookEndpoint.model_validate(
            {
                "actor": actor,
                "partner_id": actor.partner_id,
                "url": self.receiver.url,
                "event_types": ["balance.low", "order.completed"],
                "mode": "test",
                **fields,
            }
        )
        created = await self.ask(query, NewWebhookSecret)
        self.receiver.secrets.append(created.secret.get_secret_value())
        return created

    async def delivery(self, delivery_id: str) -> dict[str, Any]:
        """The stored delivery."""
        found = await self.provisioning.db[DELIVERIES].find_one({"_id": delivery_id})
        assert found is not None
        return found

    async def settled(self, delivery_id: str) -> dict[str, Any]:
        """The delivery once it is delivered or exhausted (bounded wait)."""

        async def done() -> dict[str, Any] | None:
            document = await self.delivery(delivery_id)
            return document if document["status"] in ("delivered", "exhausted") else None

        return await eventually(done, timeout=10, what=f"{delivery_id} settled")

    def view_ids(self, views: list[WebhookDeliveryView]) -> list[str]:
        """The ids of delivery views."""
        return [view.id for view in views]


@contextlib.asynccontextmanager
async def webhook_rig(settings: ProvisioningSettings) -> AsyncIterator[Rig]:
    """Provisioning with only its webhook part, a caller that hears the disabling events,
    and a receiver on a free local port."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    receiver.url = str(server.make_url("/hook"))
    provisioning = Service.create("provisioning", settings)
    hooks = webhooks.register(provisioning, settings, resolver=fake_dns)
    assert hooks is not None
    caller = Service.create("tester", settings, stateless=True)
    rig = Rig(provisioning=provisioning, caller=caller, receiver=receiver, hooks=hooks)

    async def heard(event: WebhookEndpointDisabled, _context: MessageContext) -> None:
        rig.disabled.append(event)

    caller.router.on(WebhookEndpointDisabled, heard)
    try:
        async with running(provisioning, caller):
            yield rig
    finally:
        await server.close()
