"""The log shipper over the real bus: batches arrive; with the broker cut off the service keeps
answering, buffers (bounded, drops counted) and ships the rest, once, when the broker returns."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiohttp
import pytest
import structlog
from aio_pika.abc import AbstractIncomingMessage
from devstack.net import free_port
from prometheus_client import REGISTRY

from contracts.logs import TechnicalRecordsShipped
from servicekit.logging import configure_logging
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from support.services import running
from support.tcpproxy import TcpProxy
from support.waiting import eventually

SERVICE = "alpha"


@dataclass
class Received:
    """Batches heard on the events exchange, by message id (a re-sent copy counts once)."""

    batches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def take(self, message: AbstractIncomingMessage) -> None:
        """Keep one batch."""
        self.batches[message.message_id or ""] = json.loads(message.body)["records"]

    def events(self) -> list[str]:
        """The events of every record received, batch by batch in arrival order."""
        return [record["event"] for batch in self.batches.values() for record in batch]

    def seqs(self) -> list[int]:
        """The `seq` field of every numbered record received."""
        return [
            record["fields"]["seq"]
            for batch in self.batches.values()
            for record in batch
            if record["event"] == "numbered"
        ]


@pytest.fixture
async def received(namespace: ServiceSettings) -> AsyncIterator[Received]:
    """Every shipped batch of the namespace, heard through a queue of the test's own."""
    heard = Received()
    topology = Topology(namespace.bus_namespace)
    connection = await aio_pika.connect(namespace.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            topology.events, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=TechnicalRecordsShipped.TYPE)
        await queue.consume(heard.take, no_ack=True)
        yield heard


def dropped() -> float:
    """The drop counter of the test service."""
    value = REGISTRY.get_sample_value("log_records_dropped_total", {"service": SERVICE})
    return value or 0


def through(proxy: TcpProxy, amqp_url: str) -> str:
    """The broker URL by way of the proxy."""
    parts = urlsplit(amqp_url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))


async def test_records_are_shipped_in_batches_redacted(
    namespace: ServiceSettings, received: Received
) -> None:
    """A running service ships its records (redacted, with their context) within an interval."""
    configure_logging(SERVICE, "info", "json", stream=io.StringIO())
    settings = namespace.model_copy(update={"log_ship_interval_seconds": 0.2})
    service = Service.create(SERVICE, settings, stateless=True)
    async with running(service):
        log = structlog.get_logger("test")
        for n in range(3):
            log.info("numbered", seq=n, partner_id="ptn_1", password="hunter2")

        async def three() -> bool:
            return len(received.seqs()) >= 3

        await eventually(three, what="three records shipped")
    records = [r for batch in received.batches.values() for r in batch]
    numbered = [r for r in records if r["event"] == "numbered"]
    assert [r["fields"]["seq"] for r in numbered] == [0, 1, 2]
    assert all(r["partner_id"] == "ptn_1" and r["service"] == SERVICE for r in numbered)
    assert "hunter2" not in json.dumps(records)


async def test_a_broker_outage_neither_blocks_nor_duplicates_and_shipping_resumes(
    namespace: ServiceSettings, received: Received
) -> None:
    """With the broker unreachable the service answers HTTP and logging never waits; the
    buffer keeps 50 records and counts the rest as dropped; once the broker is back the kept
    records arrive, each once, oldest first."""
    configure_logging(SERVICE, "info", "json", stream=io.StringIO())
    host, port = urlsplit(namespace.amqp_url).hostname, urlsplit(namespace.amqp_url).port
    proxy = TcpProxy(host or "127.0.0.1", port or 5672)
    await proxy.start()
    settings = namespace.model_copy(
        update={
            "amqp_url": through(proxy, namespace.amqp_url),
            "log_ship_interval_seconds": 0.2,
            "log_ship_buffer": 50,
        }
    )
    service = Service.create(SERVICE, settings, stateless=True)
    log = structlog.get_logger("test")
    try:
        async with running(service) as [server], aiohttp.ClientSession() as http:
            log.info("before_the_outage")
            await eventually(
                lambda: _has(received, "before_the_outage"), what="shipping before the outage"
            )
            proxy.target_port = free_port()
            attempts = proxy.connections_made
            assert proxy.drop_all() > 0
            await eventually(
                lambda: _reconnecting(proxy, attempts), what="the service tried to reconnect"
            )
            drops_before = dropped()
            started = time.perf_counter()
            for n in range(120):
                log.info("numbered", seq=n)
            assert time.perf_counter() - started < 1.0, "logging waited for the broker"
            async with http.get(server.make_url("/healthz")) as answer:
                assert answer.status == 200
            assert dropped() - drops_before >= 70
            assert not received.seqs()
            proxy.target_port = port or 5672
            await eventually(
                lambda: _all_shipped(service, received), timeout=30, what="shipping resumed"
            )
    finally:
        await proxy.stop()
    seqs = received.seqs()
    assert seqs == list(range(len(seqs))), "kept records arrive once each, oldest first"
    assert 0 < len(seqs) <= 50


async def _has(received: Received, event: str) -> bool:
    return event in received.events()


async def _all_shipped(service: Service, received: Received) -> bool:
    shipper = service.log_shipper
    return shipper is not None and shipper.buffered == 0 and bool(received.seqs())


async def _reconnecting(proxy: TcpProxy, attempts: int) -> bool:
    return proxy.connections_made > attempts
