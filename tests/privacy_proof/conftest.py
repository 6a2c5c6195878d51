"""Fixtures of the proof tests: a namespace with the real privacy service, with or without the
real data owners, and a client that plays a data owner of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from proof_support import FAKE, Alone, Proof

from servicekit.service import Service
from support.privacy_owners import (
    DATA_OWNERS,
    FakeOwner,
    data_owners,
    privacy_service,
    until_registered,
)
from support.services import fresh_namespace, running


@pytest.fixture
async def fanout(amqp_url: str, mongo_url: str) -> AsyncIterator[Proof]:
    """The privacy service and the real accounts, provisioning and logs services, running, once
    privacy holds every data owner's receipt key."""
    async with fresh_namespace(amqp_url, mongo_url, [*DATA_OWNERS, "privacy", "proof"]) as base:
        privacy = privacy_service(base)
        owners = data_owners(base)
        client = Service.create("proof", base, stateless=True)
        async with running(privacy, client, *owners):
            await until_registered(privacy.db, DATA_OWNERS)
            yield Proof(privacy, owners, client, base)


@pytest.fixture
async def alone(amqp_url: str, mongo_url: str) -> AsyncIterator[Alone]:
    """The privacy service with the forger `alpha` as its only data owner; alpha's task
    commands stay unanswered (each test answers them itself)."""
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", FAKE]) as base:
        privacy = privacy_service(base)
        forger = FakeOwner.create(FAKE, base)
        async with running(privacy, forger.service):
            await forger.register(privacy.db)
            yield Alone(privacy, [], forger.service, base, forger)
