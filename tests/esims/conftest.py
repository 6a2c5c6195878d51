"""Fixtures for the eSIM tests: a fresh namespace and the eSIM rig running in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from esim_support import Rig, esim_rig, esim_settings

from servicekit.settings import ServiceSettings
from support.services import fresh_namespace


@pytest.fixture
async def base_settings(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """Settings of a namespace used by this test only."""
    async with fresh_namespace(amqp_url, mongo_url, ["provisioning", "tester"]) as values:
        yield values


@pytest.fixture
async def rig(base_settings: ServiceSettings) -> AsyncIterator[Rig]:
    """Provisioning's eSIM and webhook parts, a caller and a webhook receiver, all running."""
    async with esim_rig(esim_settings(base_settings)) as running_rig:
        yield running_rig
