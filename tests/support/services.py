"""Running in-process services (the real app and lifecycle) against the real broker and store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aio_pika
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient

from servicekit.receipts import generate_signing_key
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology, delete_namespace
from support.names import unique_namespace


def fast_settings(amqp_url: str, mongo_url: str, **overrides: object) -> ServiceSettings:
    """Settings for a fresh namespace with fast retries and polling."""
    values: dict[str, object] = {
        "amqp_url": amqp_url,
        "mongo_url": mongo_url,
        "bus_namespace": unique_namespace(),
        "retry_delays_ms": [100, 300],
        "delivery_limit": 3,
        "outbox_poll_seconds": 0.2,
        "prefetch": 16,
        "log_format": "json",
        "receipt_signing_key": generate_signing_key(),
    }
    values.update(overrides)
    return ServiceSettings.model_validate(values)


@contextlib.asynccontextmanager
async def running(*services: Service) -> AsyncIterator[list[TestServer]]:
    """Start each service's app (its whole lifecycle) and stop them after."""
    servers = [TestServer(service.http_app()) for service in services]
    try:
        for server in servers:
            await server.start_server()
        yield servers
    finally:
        for server in reversed(servers):
            await server.close()


async def remove_namespace(settings: ServiceSettings, services: list[str]) -> None:
    """Delete a test namespace's queues, exchanges and databases."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await delete_namespace(
            channel, Topology(settings.bus_namespace), services, settings.retry_delays_ms
        )
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
    for service in services:
        await client.drop_database(settings.database_name(service))
    await client.close()


@contextlib.asynccontextmanager
async def fresh_namespace(
    amqp_url: str, mongo_url: str, services: list[str]
) -> AsyncIterator[ServiceSettings]:
    """Settings of a namespace for one test; its queues and databases are removed after."""
    settings = fast_settings(amqp_url, mongo_url)
    try:
        yield settings
    finally:
        await remove_namespace(settings, services)
