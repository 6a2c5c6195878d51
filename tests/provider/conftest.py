"""Fixtures for the provider tests: the simulator as a real process, and an adapter to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_support import Simulator, simulator

from provisioning.provider import HttpNetworkProvider, provider_from_settings
from provisioning.settings import ProvisioningSettings
from servicekit.settings import ServiceSettings
from support.services import fresh_namespace

POOL_SIZE = 200


@pytest.fixture(scope="module")
async def sim(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Simulator]:
    """One simulator for a test module, with a pool of 200 ICCIDs and no callbacks."""
    logs = tmp_path_factory.mktemp("providersim") / "providersim.log"
    async with simulator(logs, pool_size=str(POOL_SIZE)) as running:
        yield running


@pytest.fixture
async def provider(sim: Simulator) -> AsyncIterator[HttpNetworkProvider]:
    """The production adapter built from provisioning's settings, pointed at the simulator;
    faults reset to none after the test."""
    adapter = provider_from_settings(
        ProvisioningSettings(provider_url=sim.url, provider_timeout_seconds=2.0)
    )
    yield adapter
    await adapter.close()
    await sim.configure(failure_rate=0, timeout_rate=0)


@pytest.fixture
async def base_settings(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """Settings of a namespace used by this test only."""
    async with fresh_namespace(amqp_url, mongo_url, ["provisioning", "listener"]) as values:
        yield values
