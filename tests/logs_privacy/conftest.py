"""Fixtures of the logs privacy tests: the logs service as `create_service` builds it in a
fresh namespace, and a stand-in privacy service that sends it privacy commands."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from servicekit.settings import ServiceSettings
from support.logs_owner import LogsOwner
from support.services import fresh_namespace, running


@pytest.fixture
async def namespace(amqp_url: str, mongo_url: str) -> AsyncIterator[ServiceSettings]:
    """A namespace of this test only."""
    async with fresh_namespace(amqp_url, mongo_url, ["logs", "privacy"]) as base:
        yield base


@pytest.fixture
async def harness(namespace: ServiceSettings) -> AsyncIterator[LogsOwner]:
    """The logs service and the stand-in privacy service, running; the sweep waits an hour."""
    harness = LogsOwner.build(namespace)
    async with running(harness.caller, harness.service):
        yield harness
