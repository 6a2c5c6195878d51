"""Fixtures of the provisioning privacy tests: provisioning as `create_service` builds it in a
fresh namespace, and a stand-in privacy service that sends it privacy commands."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from servicekit.settings import ServiceSettings
from support.provisioning_owner import ProvisioningOwner
from support.services import fresh_namespace, running


@pytest.fixture
async def namespace(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """A namespace of this test only (tests that start provisioning themselves)."""
    async with fresh_namespace(amqp_url, mongo_url, ["provisioning", "privacy"]) as base:
        yield base


@pytest.fixture
async def harness(namespace: ServiceSettings) -> AsyncIterator[ProvisioningOwner]:
    """Provisioning and the stand-in privacy service, running; the sweep job waits an hour."""
    harness = ProvisioningOwner.build(namespace)
    async with running(harness.caller, harness.service):
        yield harness
