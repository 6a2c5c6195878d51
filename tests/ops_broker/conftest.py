"""Fixtures for the broker-side ops tools: a fresh namespace, a connection, and the service
whose handler is broken until the test fixes it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aio_pika
import pytest
from aio_pika.abc import AbstractConnection
from broker_ops_support import SERVICE, FlakyCounter, running_counter

from servicekit.settings import ServiceSettings
from support.services import fresh_namespace


@pytest.fixture
async def settings(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """Settings of a namespace used by this test only."""
    async with fresh_namespace(amqp_url, mongo_url, [SERVICE]) as values:
        yield values


@pytest.fixture
async def connection(settings: ServiceSettings) -> AsyncIterator[AbstractConnection]:
    """A plain connection to the broker, as an operator's tool has."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        yield connection


@pytest.fixture
async def counter(settings: ServiceSettings) -> AsyncIterator[FlakyCounter]:
    """The running service, still broken."""
    async with running_counter(settings) as counter:
        yield counter
