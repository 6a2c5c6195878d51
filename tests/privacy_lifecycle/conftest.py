"""Fixtures of the lifecycle tests: a fresh namespace each test builds its own world in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from lifecycle_support import DESK, FAKES

from servicekit.settings import ServiceSettings
from support.privacy_owners import DATA_OWNERS
from support.services import fresh_namespace


@pytest.fixture
async def base(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """Settings of a fresh namespace; its queues and databases are removed after the test."""
    services = [*DATA_OWNERS, "privacy", DESK, *FAKES]
    async with fresh_namespace(amqp_url, mongo_url, services) as settings:
        yield settings
