"""Helpers of the lifecycle tests: the real privacy service, the real data owners (each one can
be stopped and started again), fake data owners played by the test, and a desk client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient

from contracts import Contract, Reply
from contracts.privacy import (
    IdentifierKind,
    PrivacyRequestView,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from privacy import store
from privacy.app import create_service as create_privacy
from privacy.settings import PrivacySettings
from servicekit.clock import Clock, utcnow
from servicekit.crypto import BlindIndex
from servicekit.ids import new_id
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import DIRECT_REPLY_TO, Topology
from support import privacy_owners
from support.privacy_owners import Db, FakeOwner, ask_privacy, owner_builders, until_registered
from support.waiting import eventually

DESK = "lcdesk"
"""The stateless client that asks the privacy service, as the gateway or the CLI does."""
FAKES = ["alpha", "beta"]
PARTNER = "ptn_lifecycle"


class MovableClock:
    """A clock the test sets and moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


_BLIND_INDEX_KEYS: dict[str, str] = {}


def blind_index_key(base: ServiceSettings) -> str:
    """The namespace's platform blind-index key, shared by privacy and the data owners."""
    return _BLIND_INDEX_KEYS.setdefault(base.bus_namespace, BlindIndex.generate_key())


def privacy_settings(base: ServiceSettings, **overrides: Any) -> PrivacySettings:
    """The privacy service's settings in the test's namespace (the namespace's blind-index
    key: a restarted privacy process gets the same)."""
    return privacy_owners.privacy_settings(base, blind_index_key=blind_index_key(base), **overrides)


class Stage:
    """Services started and stopped one by one; whatever still runs is stopped at the end."""

    def __init__(self) -> None:
        self._servers: dict[int, TestServer] = {}

    async def start(self, service: Service) -> Service:
        """Start a service's whole lifecycle."""
        server = TestServer(service.http_app())
        await server.start_server()
        self._servers[id(service)] = server
        return service

    async def stop(self, service: Service) -> None:
        """Stop one service; its queues stay, and fill while it is away."""
        await self._servers.pop(id(service)).close()

    async def stop_all(self) -> None:
        """Stop every service still running, the last started first."""
        for key in reversed(list(self._servers)):
            await self._servers.pop(key).close()


@dataclass
class World:
    """A namespace with the privacy service, data owners real or fake, and the desk client."""

    base: ServiceSettings
    stage: Stage
    privacy: Service
    desk: Service
    fakes: dict[str, FakeOwner]
    owners: dict[str, Service]
    builders: dict[str, Callable[[], Service]]
    """Build a real owner again with its settings and receipt key (to start it again)."""
    db: Db
    """The privacy service's database, through a client of the test's own (it outlives any
    privacy process)."""

    async def restart_privacy(self, settings: PrivacySettings, clock: Clock = utcnow) -> None:
        """Start a new privacy process on the same namespace (the old one must be stopped)."""
        self.privacy = await self.stage.start(create_privacy(settings, clock=clock))

    async def ask(self, query: Contract, reply: type[Reply] = PrivacyRequestView) -> Any:
        """A request/reply call to the privacy service."""
        return await ask_privacy(self.desk, query, reply)

    async def submit(
        self, subject: SubjectRef, request_type: RequestType = RequestType.ERASURE
    ) -> PrivacyRequestView:
        """Open a partner's request."""
        query = SubmitPrivacyRequest(partner_id=PARTNER, type=request_type, subject=subject)
        view: PrivacyRequestView = await self.ask(query)
        return view

    async def document(self, request_id: str) -> dict[str, Any]:
        """The stored request."""
        found = await self.db[store.REQUESTS].find_one({"_id": request_id})
        assert found is not None
        return found

    async def task(self, request_id: str, service: str) -> dict[str, Any]:
        """One stored task of a request."""
        return dict((await self.document(request_id))["tasks"][service])

    async def status(self, request_id: str) -> str:
        """The stored request's status."""
        return str((await self.document(request_id))["status"])

    async def reaches(self, request_id: str, status: str, timeout: float = 15) -> None:
        """Wait until the request is in `status`."""

        async def there() -> bool:
            return await self.status(request_id) == status

        try:
            await eventually(there, timeout=timeout, what=f"request {request_id} {status}")
        except AssertionError as never:
            raise AssertionError(f"{never}; tasks: {await self._task_states(request_id)}") from None

    async def _task_states(self, request_id: str) -> dict[str, Any]:
        tasks = (await self.document(request_id))["tasks"]
        shown = ("task_id", "status", "attempts", "last_error", "error")
        return {name: {k: task.get(k) for k in shown} for name, task in tasks.items()}

    async def audited(self, request_id: str, kind: str) -> None:
        """Wait until the request's audit trail holds an entry of this kind (entries follow
        the state change they record)."""

        async def there() -> bool:
            return kind in await self.audit_kinds(request_id)

        await eventually(there, what=f"{kind} audited for {request_id}")

    async def audit(self, request_id: str) -> list[dict[str, Any]]:
        """The request's audit entries in order."""
        cursor = self.db["audit_trail"].find({"request_id": request_id}).sort("seq", 1)
        return [entry async for entry in cursor]

    async def audit_kinds(self, request_id: str) -> list[str]:
        """The kinds of the request's audit entries, in order."""
        return [entry["kind"] for entry in await self.audit(request_id)]


@asynccontextmanager
async def world(
    base: ServiceSettings,
    *,
    owners: bool = False,
    fakes: dict[str, list[IdentifierKind] | None] | None = None,
    settings: PrivacySettings | None = None,
    clock: Clock = utcnow,
) -> AsyncIterator[World]:
    """Start privacy, the fakes (announced) and, if asked, the real owners; wait until privacy
    holds every owner's key."""
    stage = Stage()
    fake_owners = {
        name: FakeOwner.create(name, base, kinds) for name, kinds in (fakes or {}).items()
    }
    builders = owner_builders(base, blind_index_key(base)) if owners else {}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(base.mongo_url, tz_aware=True)
    db = client[base.database_name("privacy")]
    try:
        privacy = await stage.start(create_privacy(settings or privacy_settings(base), clock=clock))
        desk = await stage.start(Service.create(DESK, base, stateless=True))
        for fake in fake_owners.values():
            await stage.start(fake.service)
            await fake.announce()
        real = {name: await stage.start(build()) for name, build in builders.items()}
        await until_registered(db, [*fake_owners, *real])
        yield World(base, stage, privacy, desk, fake_owners, real, builders, db)
    finally:
        await stage.stop_all()
        await client.close()


async def raw_query(base: ServiceSettings, to: str, message_type: str, body: bytes) -> Any:
    """Send a query body as bytes (no model builds or checks it) and return the reply as
    `(type, body)`."""
    connection = await aio_pika.connect(base.amqp_url)
    async with connection:
        channel = await connection.channel()
        replies = await channel.declare_queue(DIRECT_REPLY_TO, passive=True)
        answered: asyncio.Future[aio_pika.abc.AbstractIncomingMessage] = (
            asyncio.get_running_loop().create_future()
        )

        async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            if not answered.done():
                answered.set_result(message)

        await replies.consume(on_reply, no_ack=True)
        exchange = await channel.get_exchange(Topology(base.bus_namespace).queries, ensure=False)
        message = aio_pika.Message(
            body=body,
            content_type="application/json",
            message_id=new_id("msg"),
            correlation_id=new_id("cor"),
            type=message_type,
            reply_to=DIRECT_REPLY_TO,
        )
        await exchange.publish(message, routing_key=to)
        reply = await asyncio.wait_for(answered, 10)
        return reply.type, reply.body
