"""Fixtures for the webhook tests: a fresh namespace and the webhook rig running in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from webhook_support import Rig, webhook_rig, webhook_settings

from servicekit.settings import ServiceSettings
from support.services import fresh_namespace


@pytest.fixture
async def base_settings(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """Settings of a namespace used by this test only."""
    async with fresh_namespace(amqp_url, mongo_url, ["provisioning", "tester"]) as values:
        yield values


@pytest.fixture
async def rig(base_settings: ServiceSettings) -> AsyncIterator[Rig]:
    """Provisioning's webhooks, a caller and a verifying receiver, all running."""
    async with webhook_rig(webhook_settings(base_settings)) as running_rig:
        yield running_rig
