"""Helpers of the lifecycle tests: the real privacy service, the real data owners (each one can
be stopped and started again), fake data owners played by the test, and a desk client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aio_pika
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from accounts.app import create_service as create_accounts
from accounts.settings import AccountsSettings
from contracts import Contract, Reply
from contracts.privacy import (
    CategoryOutcome,
    DataCategory,
    Disposition,
    EraseSubject,
    ExportSubject,
    IdentifierKind,
    InventoryAnnounced,
    LegalBasis,
    PrivacyAction,
    PrivacyRequestView,
    PrivacyTaskCompleted,
    RectifySubject,
    RequestType,
    RestrictSubject,
    SubjectRef,
    SubmitPrivacyRequest,
)
from logs.app import create_service as create_logs
from logs.settings import LogsSettings
from privacy import store
from privacy.app import create_service as create_privacy
from privacy.settings import PrivacySettings
from provisioning.app import create_service as create_provisioning
from provisioning.settings import ProvisioningSettings
from servicekit.clock import Clock, utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.receipts import ReceiptSigner, generate_signing_key, to_millisecond
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import DIRECT_REPLY_TO, Topology
from support.waiting import eventually

DATA_OWNERS = ["accounts", "provisioning", "logs"]
DESK = "lcdesk"
"""The stateless client that asks the privacy service, as the gateway or the CLI does."""
FAKES = ["alpha", "beta"]
PARTNER = "ptn_lifecycle"
Db = AsyncDatabase[dict[str, Any]]
TaskCommand = EraseSubject | ExportSubject | RectifySubject | RestrictSubject

INVENTORY = [
    DataCategory(
        name="notes",
        description="Notes about a person.",
        fields=["email"],
        purpose="Testing the request lifecycle.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Until erased.",
        actions=list(PrivacyAction),
    )
]


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


def _own_key(settings: ServiceSettings) -> dict[str, Any]:
    return {**settings.model_dump(), "receipt_signing_key": SecretStr(generate_signing_key())}


def owner_builders(base: ServiceSettings) -> dict[str, Callable[[], Service]]:
    """How to build accounts, provisioning and logs (again, with the same settings and keys)."""
    keys = {"master_keys": LocalMasterKeys.generate(), "blind_index_key": blind_index_key(base)}
    quiet = {"retention_sweep_first_delay_seconds": 3600}
    accounts = AccountsSettings.model_validate(
        {**_own_key(base), **keys, **quiet, "api_key_pepper": "lifecycle-pepper-0123456789ab"}
    )
    provisioning = ProvisioningSettings.model_validate(
        {**_own_key(base), **keys, **quiet, "webhook_poll_seconds": 60}
    )
    logs = LogsSettings.model_validate({**_own_key(base), **keys, **quiet})
    return {
        "accounts": lambda: create_accounts(accounts),
        "provisioning": lambda: create_provisioning(provisioning),
        "logs": lambda: create_logs(logs),
    }


def privacy_settings(base: ServiceSettings, **overrides: Any) -> PrivacySettings:
    """The privacy service's settings in the test's namespace."""
    values = {**base.model_dump(), "blind_index_key": blind_index_key(base), **overrides}
    return PrivacySettings.model_validate(values)


@dataclass
class FakeOwner:
    """A data owner the test plays: announces its inventory and key, notes every command that
    reaches it and answers only when told to."""

    service: Service
    identifiers: list[IdentifierKind] | None
    signer: ReceiptSigner = field(
        default_factory=lambda: ReceiptSigner.from_secret(generate_signing_key())
    )
    commands: list[TaskCommand] = field(default_factory=list)

    @classmethod
    def create(
        cls, name: str, base: ServiceSettings, identifiers: list[IdentifierKind] | None
    ) -> FakeOwner:
        """A fake owner whose queue takes every privacy command addressed to `name`."""
        fake = cls(Service.create(name, base, stateless=True), identifiers)
        for command in (EraseSubject, ExportSubject, RectifySubject, RestrictSubject):
            fake.service.router.on(command, fake._note)
        return fake

    @property
    def name(self) -> str:
        """The service name it plays."""
        return self.service.name

    async def _note(self, command: Any, _context: MessageContext) -> None:
        """Keep the command (any of the four task commands) for the test to look at."""
        self.commands.append(command)

    def deliveries(self, task_id: str) -> int:
        """How many times the command of this task arrived."""
        return sum(1 for command in self.commands if command.task_id == task_id)

    async def received(self, task_id: str, times: int = 1) -> None:
        """Wait until the command of this task has arrived `times` times."""

        async def arrived() -> bool:
            return self.deliveries(task_id) >= times

        await eventually(arrived, what=f"{task_id} at {self.name} {times} times")

    async def announce(self) -> None:
        """Announce the inventory, the identifier kinds and the receipt key."""
        await self.service.bus.publish(
            InventoryAnnounced(
                service=self.name,
                categories=INVENTORY,
                receipt_public_key=self.signer.public_key,
                receipt_key_id=self.signer.key_id,
                identifiers=self.identifiers,
            )
        )

    async def answer(self, request_id: str, task_id: str) -> None:
        """Send a signed, successful erase result for this task id."""
        result = PrivacyTaskCompleted(
            request_id=request_id,
            task_id=task_id,
            service=self.name,
            action=PrivacyAction.ERASE,
            succeeded=True,
            outcomes=[
                CategoryOutcome(category="notes", records=1, disposition=Disposition.DELETED)
            ],
            completed_at=to_millisecond(utcnow()),
        )
        await self.service.bus.publish(self.signer.sign(result))


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
        return await self.desk.bus.request(query, to="privacy", reply=reply, timeout=10)

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


async def registered(db: Db, services: set[str]) -> bool:
    """Whether every one of `services` registered its inventory and receipt key."""
    keys = {doc["service"] async for doc in db["receipt_keys"].find({})}
    return keys >= services


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
    builders = owner_builders(base) if owners else {}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(base.mongo_url, tz_aware=True)
    db = client[base.database_name("privacy")]
    try:
        privacy = await stage.start(create_privacy(settings or privacy_settings(base), clock=clock))
        desk = await stage.start(Service.create(DESK, base, stateless=True))
        for fake in fake_owners.values():
            await stage.start(fake.service)
            await fake.announce()
        real = {name: await stage.start(build()) for name, build in builders.items()}
        expected = set(fake_owners) | set(real)
        await eventually(lambda: registered(db, expected), what="every owner registered")
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
