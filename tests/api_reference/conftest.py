"""Fixtures of the API reference tests: the real gateway app in-process, in a fresh namespace
(it is stateless: the broker is all it needs), answering an anonymous client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.settings import GatewaySettings
from support.services import fresh_namespace

Client = TestClient[web.Request, web.Application]


@pytest.fixture(scope="module")
async def gateway(amqp_url: str, mongo_url: str) -> AsyncIterator[Client]:
    """An anonymous client of a running gateway."""
    async with fresh_namespace(amqp_url, mongo_url, ["gateway"]) as base:
        client: Client = TestClient(TestServer(create_app(GatewaySettings(**base.model_dump()))))
        await client.start_server()
        try:
            yield client
        finally:
            await client.close()
