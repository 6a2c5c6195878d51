"""A rig for the callback tests: provisioning in-process, the simulator calling it back, and a
listener on the bus that records provisioning's provider events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient
from sim_support import Simulator, simulator
from standardwebhooks import Webhook

from contracts.provider import ProfileExpired, ProfileInstalled, ProviderCallbackEvent, UsageUpdated
from provisioning.app import create_app
from provisioning.callbacks import CALLBACK_PATH, CALLBACKS
from provisioning.settings import ProvisioningSettings
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.processes import free_port
from support.services import running


@dataclass
class Heard:
    """The provider events a listener on the bus received."""

    events: list[ProviderCallbackEvent] = field(default_factory=list)

    async def __call__(self, event: ProviderCallbackEvent, _context: MessageContext) -> None:
        self.events.append(event)

    def of(self, webhook_id: str) -> list[ProviderCallbackEvent]:
        """The events of one callback."""
        return [e for e in self.events if e.webhook_id == webhook_id]


@dataclass
class Rig:
    """Provisioning's callback endpoint, the simulator, the listener and the callbacks store."""

    url: str
    sim: Simulator
    heard: Heard
    db: AsyncMongoClient[dict[str, Any]]
    database: str

    async def stored(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The recorded callbacks matching `query`."""
        return await self.db[self.database][CALLBACKS].find(query).to_list()

    async def post(self, body: str, headers: dict[str, str]) -> tuple[int, Any]:
        """POST a callback straight to provisioning."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers) as response,
        ):
            return response.status, await response.json(content_type=None)


def callback_body(iccid: str, kind: str = "profile.installed", **data: int) -> str:
    """A callback body as the provider sends it."""
    at = datetime.now(UTC).isoformat()
    return json.dumps({"type": kind, "iccid": iccid, "occurred_at": at, "data": data})


def signed(secret: str, webhook_id: str, body: str, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers signing `body` with `secret` as sent at `at`."""
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


def listener(settings: ServiceSettings, heard: Heard) -> Service:
    """A service that records every provider event provisioning publishes."""
    service = Service.create("listener", settings, stateless=True)
    for event in (ProfileInstalled, UsageUpdated, ProfileExpired):
        service.router.on(event, heard)
    return service


@contextlib.asynccontextmanager
async def callback_rig(
    base: ServiceSettings, logs: Path, secret: str, *, sim_secret: str | None = None
) -> AsyncIterator[Rig]:
    """Provisioning (real app, own HTTP server) with `secret`; the simulator signs with
    `sim_secret` (default: the same) and calls provisioning back."""
    port = free_port()
    url = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    async with simulator(
        logs,
        callback_url=url,
        callback_secret=sim_secret or secret,
        callback_retry_delays_ms="[50, 100]",
    ) as sim:
        settings = ProvisioningSettings(
            **base.model_dump(), provider_url=sim.url, provider_callback_secret=secret
        )
        heard = Heard()
        server = TestServer(create_app(settings), port=port)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(base.mongo_url, tz_aware=True)
        await server.start_server()
        try:
            async with running(listener(base, heard)):
                yield Rig(url, sim, heard, client, base.database_name("provisioning"))
        finally:
            await server.close()
            await client.close()
