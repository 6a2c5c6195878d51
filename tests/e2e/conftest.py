"""Clients of the platform the end-to-end tests run against: the whole platform as real
processes in a fresh namespace, seeded with the demo partner, started once per session by
`support.platform` (shared with the browser tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from support.platform import Platform


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of the partners' API authenticated with the demo key."""
    async with aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {platform.demo_key}"}
    ) as session:
        yield session


@pytest.fixture(scope="session")
async def db(platform: Platform) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    """A client for reading services' databases directly (as an auditor would), one for the
    session: a client per test cost its connection set-up in each of the ~470 tests."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        platform.mongo_url, tz_aware=True
    )
    yield client
    await client.close()
