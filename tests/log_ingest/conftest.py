"""Fixtures of the log ingest tests: a fresh namespace, the logs service as `create_service`
builds it (with keys), and a publisher on the same bus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ingest_support import Ingest, logs_settings

from logs.app import create_service
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import fresh_namespace, running


@pytest.fixture
async def namespace(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """A namespace of this test only."""
    async with fresh_namespace(amqp_url, mongo_url, ["logs", "alpha", "nobody"]) as base:
        yield base


@pytest.fixture
async def ingest(namespace: ServiceSettings) -> AsyncIterator[Ingest]:
    """The logs service and a publisher ("nobody", stateless), running."""
    settings = logs_settings(namespace)
    logs = create_service(settings)
    publisher = Service.create("nobody", namespace, stateless=True)
    async with running(logs, publisher):
        yield Ingest(settings=settings, service=logs, publisher=publisher)
