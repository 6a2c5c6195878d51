"""The runtime of one service: store, bus, consumers, outbox relay, ops HTTP, lifecycle."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase

from contracts.ops import ServiceStatusReported
from contracts.privacy import DataCategory, IdentifierKind
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.consumer import Consumer
from servicekit.crypto import BlindIndex
from servicekit.http import READINESS, SERVICE_NAME, STOPPED_JOBS, add_ops_routes, observe
from servicekit.ids import new_id
from servicekit.inbox import Inbox
from servicekit.keyring import EncryptionSettings, OptionalSealingKeys
from servicekit.logshipping import LogShipper, shipper_for
from servicekit.outbox import OutboxRelay, OutboxWrites
from servicekit.privacy import (
    PrivacyHandler,
    inventory_announcement,
    join_privacy,
    receipt_signer,
)
from servicekit.receipts import ReceiptSigner
from servicekit.restrictions import RestrictionRegister, join_restriction_register
from servicekit.router import Router
from servicekit.settings import ServiceSettings
from servicekit.status_report import report_forever, status_report
from servicekit.store import Document, Store
from servicekit.tls import optional_server_context
from servicekit.topology import Topology

log = structlog.get_logger("servicekit.service")

INBOX_PRUNE_SECONDS = 3600.0

StartupStep = Callable[[], Awaitable[None]]
BackgroundTask = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Service:
    """Everything one service process runs; `create_app` of each service fills it in."""

    name: str
    settings: ServiceSettings
    bus: Bus
    store: Store | None
    relay: OutboxRelay | None
    router: Router = field(default_factory=Router)
    inventory: list[DataCategory] = field(default_factory=list)
    identifiers: list[IdentifierKind] = field(default_factory=list)
    """The kinds of subject identifier the service finds personal data by (announced)."""
    startup: list[StartupStep] = field(default_factory=list)
    after_start: list[StartupStep] = field(default_factory=list)
    background: list[BackgroundTask] = field(default_factory=list)
    shutdown: list[StartupStep] = field(default_factory=list)
    """Run once the consumer stopped (close clients of third parties)."""
    log_shipper: LogShipper | None = None
    """Ships this process's log records to the logs service while the service runs."""
    receipt_signer: ReceiptSigner | None = None
    """Signs the privacy results of a data-owning service (set by `join_privacy`)."""
    stopped_jobs: list[str] = field(default_factory=list)
    """Background jobs that ended while the service ran (each should run until it stops)."""
    instance: str = field(default_factory=lambda: new_id("inst"))
    """This process's id in its status reports (new at every start of the process)."""
    reported_counters: list[Counter] = field(default_factory=list)
    """The service's own counters its status reports carry (labelled by `service`)."""
    _restrictions: RestrictionRegister | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(cls, name: str, settings: ServiceSettings, *, stateless: bool = False) -> Service:
        """A service with its bus (and, unless stateless, its store) built from settings."""
        bus = Bus(url=settings.amqp_url, topology=Topology(settings.bus_namespace), service=name)
        if stateless:
            return cls(name=name, settings=settings, bus=bus, store=None, relay=None)
        outbox_writes = OutboxWrites()
        store = Store(
            url=settings.mongo_url,
            database=settings.database_name(name),
            listeners=[outbox_writes],
        )
        relay = OutboxRelay(
            db=store.db, collections=[], bus=bus, poll_seconds=settings.outbox_poll_seconds
        )
        outbox_writes.on_write = relay.kick
        return cls(name=name, settings=settings, bus=bus, store=store, relay=relay)

    @property
    def db(self) -> AsyncDatabase[Document]:
        """The service's own database."""
        if self.store is None:
            raise RuntimeError(f"{self.name} is stateless and has no database")
        return self.store.db

    @property
    def outbox(self) -> OutboxRelay:
        """The service's outbox relay."""
        if self.relay is None:
            raise RuntimeError(f"{self.name} is stateless and has no outbox")
        return self.relay

    @property
    def restrictions(self) -> RestrictionRegister:
        """The service's register of restrictions and objections, which everything that
        processes personal data asks (kept up to date once the service `join_privacy`s)."""
        if self._restrictions is None:
            self._restrictions = RestrictionRegister(self.db, blind_index_of(self.settings))
        return self._restrictions

    def join_privacy(
        self,
        inventory: list[DataCategory],
        handler: PrivacyHandler,
        *,
        identifiers: list[IdentifierKind],
    ) -> None:
        """Become a data-owning service: announce the inventory and the kinds of identifier
        its data is found by (`identifiers`: only those its lookups use), answer privacy
        commands, and keep the register of restrictions and objections (`restrictions`).

        Needs `RECEIPT_SIGNING_KEY` (this service's own Ed25519 key) to sign its results.
        """
        self.inventory = inventory
        self.identifiers = identifiers
        self.receipt_signer = receipt_signer(self.name, self.settings)
        join_privacy(
            router=self.router,
            service=self.name,
            inventory=inventory,
            identifiers=identifiers,
            handler=handler,
            db=self.db,
            bus=self.bus,
            relay=self.outbox,
            signer=self.receipt_signer,
            export_part_bytes=self.settings.export_part_bytes,
        )
        join_restriction_register(self.router, self.restrictions)
        self.startup.append(self.restrictions.create_indexes)

    def report_counter(self, counter: Counter) -> None:
        """Carry one of the service's own counters (with a `service` label) in its status
        reports, e.g. webhook deliveries by outcome."""
        if counter not in self.reported_counters:
            self.reported_counters.append(counter)

    def status_report(self) -> ServiceStatusReported:
        """This process's counters now, as its next status report."""
        return status_report(
            self.name, self.instance, self.settings.status_report_seconds, self.reported_counters
        )

    async def readiness(self) -> dict[str, bool]:
        """The checks /readyz reports."""
        checks = {"bus": self.bus.is_connected}
        if self.store is not None:
            checks["store"] = await self.store.ping()
        return checks

    def http_app(
        self, *, middlewares: Sequence[Middleware] = (), **options: Any
    ) -> web.Application:
        """The aiohttp app: ops endpoints, and the whole lifecycle in its cleanup context."""
        app = web.Application(middlewares=[observe, *middlewares], **options)
        app[SERVICE_NAME] = self.name
        app[READINESS] = self.readiness
        app[STOPPED_JOBS] = lambda: list(self.stopped_jobs)
        add_ops_routes(app)
        app.cleanup_ctx.append(self._lifecycle)
        return app

    async def _lifecycle(self, _app: web.Application) -> AsyncIterator[None]:
        inbox = Inbox(self.store.db) if self.store is not None else None
        if self.relay is not None:
            await self.relay.create_indexes()
        if inbox is not None:
            await inbox.create_indexes()
        for step in self.startup:
            await step()
        await self._connect_bus()
        relay = self.relay
        consumer = Consumer(
            bus=self.bus,
            router=self.router,
            inbox=inbox,
            prefetch=self.settings.prefetch,
            delivery_limit=self.settings.delivery_limit,
            retry_delays_ms=self.settings.retry_delays_ms,
        )
        await consumer.start()
        shipper = self.log_shipper = shipper_for(self.name, self.bus, self.settings)
        jobs = [job() for job in self.background]
        jobs.append(shipper.run())
        jobs.append(
            report_forever(self.bus, self.settings.status_report_seconds, self.status_report)
        )
        if relay is not None:
            jobs.append(relay.run())
        if inbox is not None:
            jobs.append(self._prune_inbox(inbox))
        tasks = [self._supervised(job) for job in jobs]
        shipper.attach()
        if self.inventory and self.receipt_signer is not None:
            announcement = inventory_announcement(
                self.name, self.inventory, self.receipt_signer, self.identifiers
            )
            await self.bus.publish(announcement)
        for step in self.after_start:
            await step()
        log.info("service_started", namespace=self.settings.bus_namespace)
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # a failed job was logged as it ended
        shipper.detach()
        await consumer.stop()
        for step in self.shutdown:
            await step()
        await self.bus.close()
        if self.store is not None:
            await self.store.close()
        log.info("service_stopped")

    def _supervised(self, job: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a background job; if it ever ends (it should not before the service stops),
        say so in the log and on /healthz, so a supervisor restarts the process."""
        task = asyncio.create_task(job, name=getattr(job, "__qualname__", repr(job)))
        task.add_done_callback(self._job_ended)
        return task

    def _job_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        failure = task.exception()
        self.stopped_jobs.append(task.get_name())
        log.error(
            "background_job_stopped",
            job=task.get_name(),
            error=repr(failure) if failure is not None else "returned",
        )

    async def _prune_inbox(self, inbox: Inbox) -> None:
        """Forget old handled message ids now and then (hourly), so the inbox stays small."""
        retention = timedelta(hours=self.settings.inbox_retention_hours)
        while True:
            try:
                forgotten = await inbox.prune(utcnow() - retention)
                if forgotten:
                    log.info("inbox_pruned", forgotten=forgotten)
            except Exception as failure:
                log.warning("inbox_prune_failed", error=repr(failure))
            await asyncio.sleep(INBOX_PRUNE_SECONDS)

    async def _connect_bus(self, attempts: int = 30) -> None:
        for attempt in range(1, attempts + 1):
            try:
                await self.bus.connect()
                return
            except (OSError, ConnectionError) as failure:
                if attempt == attempts:
                    raise
                log.warning("bus_unreachable_retrying", attempt=attempt, error=repr(failure))
                await asyncio.sleep(1)


def blind_index_of(settings: ServiceSettings) -> BlindIndex | None:
    """The platform's blind index, when the service's settings configure it."""
    if isinstance(settings, EncryptionSettings):
        return settings.make_blind_index()
    if isinstance(settings, OptionalSealingKeys):
        encryption = settings.encryption()
        return encryption.make_blind_index() if encryption is not None else None
    return None


def run(app: web.Application, settings: ServiceSettings) -> None:
    """Serve the app until SIGINT or SIGTERM, then shut down cleanly: over HTTPS when
    TLS_CERT_FILE and TLS_KEY_FILE are set (a bad file stops the start), else plain HTTP."""
    ssl_context = optional_server_context(settings.tls_cert_file, settings.tls_key_file)

    def log_listening(message: str) -> None:
        # aiohttp says "Running on <url>" once listening: the scheme (https with TLS) and
        # the port actually bound (also when HTTP_PORT is 0).
        log.info("http_listening", urls=re.findall(r"https?://[^\s,]+", message))

    web.run_app(
        app,
        host=settings.http_host,
        port=settings.http_port,
        ssl_context=ssl_context,
        print=log_listening,
    )
