"""A rig for the eSIM tests: provisioning's webhook and eSIM parts in-process, a caller on the
bus, a receiver of webhooks, and eSIM documents stored as the order flow stores them."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestServer

from contracts import Contract, Query, Reply
from contracts.accounts import Actor, Scope
from contracts.catalogue import Package
from contracts.money import Money
from contracts.webhooks import CreateWebhookEndpoint, NewWebhookSecret
from provisioning import esim_events, esim_store, esims, webhooks
from provisioning.esim_store import ESIMS
from provisioning.provider import AllocatedProfile
from provisioning.settings import ProvisioningSettings
from provisioning.webhook_store import DELIVERIES
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.services import running
from support.waiting import eventually

R = TypeVar("R", bound=Reply)

PARTNER_A = "ptn_esims_a"
PARTNER_B = "ptn_esims_b"
SMDP = "smdp.esim-test.example"
MB = 1024 * 1024
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ESIM_EVENTS = ["esim.installed", "esim.usage_threshold", "esim.validity_ending"]


def key_of(partner_id: str, *scopes: Scope) -> Actor:
    """An API key actor of a partner with these scopes."""
    return Actor(kind="api_key", id=f"key_{partner_id}", partner_id=partner_id, scopes=[*scopes])


READER_A = key_of(PARTNER_A, Scope.ESIMS_READ)
PLATFORM = Actor(kind="platform", id="ops_job")


def esim_settings(base: ServiceSettings, **overrides: Any) -> ProvisioningSettings:
    """Provisioning settings with fresh keys, fast webhook polling and local receivers."""
    values: dict[str, Any] = {
        **base.model_dump(),
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        "webhook_poll_seconds": 0.05,
        "webhook_retry_delays_ms": [50],
        "webhooks_allow_private_urls": True,
        **overrides,
    }
    return ProvisioningSettings.model_validate(values)


def new_iccid() -> str:
    """A fresh ICCID (89 and 17 random digits)."""
    return "89" + "".join(secrets.choice("0123456789") for _ in range(17))


def package(data_mb: int | None = 1000, validity_days: int = 30) -> Package:
    """A catalogue package (unlimited when `data_mb` is None)."""
    return Package(
        id="pkg_de_test",
        title="Germany test package",
        coverage="local",
        countries=["DE"],
        regions=["EUROPE"],
        unlimited=data_mb is None,
        data_mb=data_mb,
        validity_days=validity_days,
        price=Money(amount=500, currency="EUR"),
        active=True,
    )


def context(message_id: str | None = None) -> MessageContext:
    """The context of a message handled once (a fresh id unless given)."""
    return MessageContext(
        message_id=message_id or new_id("msg"),
        correlation_id=new_id("cor"),
        type="test",
        producer="tests",
        attempt=1,
        final_attempt=False,
    )


@dataclass
class Receiver:
    """A partner's webhook endpoint: records every body and answers 204."""

    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.text()))
        return web.Response(status=204)

    def of(self, event_type: str) -> list[dict[str, Any]]:
        """The `data` of every received webhook of this type."""
        return [body["data"] for body in self.bodies if body["type"] == event_type]


@dataclass
class Rig:
    """Provisioning's eSIM part running, a caller, the receiver, and direct handles."""

    provisioning: Service
    caller: Service
    receiver: Receiver
    vault: Vault
    events: esim_events.EsimEvents
    receiver_url: str

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Ask provisioning over the bus (RemoteCallError on an error answer)."""
        return await self.caller.bus.request(query, to="provisioning", reply=reply, timeout=10)

    async def publish(self, event: Contract) -> None:
        """Publish an event on the bus as the callback receiver does."""
        await self.caller.bus.publish(event)

    async def subscribe(self, partner_id: str) -> None:
        """An endpoint of the partner for the eSIM events, pointing at the receiver."""
        query = CreateWebhookEndpoint(
            actor=key_of(partner_id, Scope.WEBHOOKS_MANAGE),
            partner_id=partner_id,
            url=self.receiver_url,
            event_types=ESIM_EVENTS,
            mode="test",
        )
        await self.ask(query, NewWebhookSecret)

    async def add_esim(
        self,
        partner_id: str = PARTNER_A,
        *,
        order_id: str | None = None,
        position: int = 1,
        sold: Package | None = None,
        matching_id: str | None = None,
    ) -> tuple[str, str]:
        """Store an allocated eSIM as the order flow does; its ICCID and matching id."""
        iccid, matching = new_iccid(), matching_id or f"MID-{secrets.token_hex(8).upper()}"
        profile = AllocatedProfile(
            iccid=iccid, package_code="DE-1GB", smdp_address=SMDP, matching_id=matching
        )
        document = await esim_store.esim_document(
            self.vault,
            profile=profile,
            position=position,
            partner_id=partner_id,
            order_id=order_id or new_id("ord"),
            package=sold or package(),
            now=NOW,
        )
        await esim_store.insert_once(self.provisioning.db, document)
        return iccid, matching

    async def esim(self, iccid: str) -> dict[str, Any]:
        """The stored eSIM document."""
        found = await self.provisioning.db[ESIMS].find_one({"_id": iccid})
        assert found is not None
        return found

    async def deliveries(self, event_type: str) -> list[dict[str, Any]]:
        """The stored deliveries of one event type."""
        return await self.provisioning.db[DELIVERIES].find({"event_type": event_type}).to_list()

    async def received(self, event_type: str, count: int) -> list[dict[str, Any]]:
        """The received webhooks of a type, once there are `count` of them (bounded wait)."""

        async def enough() -> list[dict[str, Any]]:
            found = self.receiver.of(event_type)
            return found if len(found) >= count else []

        return await eventually(enough, timeout=10, what=f"{count} {event_type} webhooks")


@contextlib.asynccontextmanager
async def esim_rig(settings: ProvisioningSettings) -> AsyncIterator[Rig]:
    """Provisioning with its webhook and eSIM parts, a caller and a receiver, all running."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    provisioning = Service.create("provisioning", settings)
    hooks = webhooks.register(provisioning, settings)
    assert hooks is not None
    esims.register(provisioning, settings, hooks)
    encryption = settings.encryption()
    assert encryption is not None
    vault = Vault.from_settings(provisioning.db, encryption)
    events = esim_events.EsimEvents(provisioning.db, hooks, settings, lambda: NOW)
    caller = Service.create("tester", settings, stateless=True)
    url = str(server.make_url("/hook"))
    rig = Rig(provisioning, caller, receiver, vault, events, url)
    try:
        async with running(provisioning, caller):
            yield rig
    finally:
        await server.close()
