"""Fixtures for the servicekit tests: a fresh namespace per test, cleaned up afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from servicekit.settings import ServiceSettings
from support.services import fresh_namespace


@pytest.fixture
async def settings(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """Settings of a namespace used by this test only."""
    async with fresh_namespace(amqp_url, mongo_url, ["alpha", "privacy"]) as values:
        yield values
