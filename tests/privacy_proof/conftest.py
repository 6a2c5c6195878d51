"""Fixtures of the proof tests: a namespace with the real privacy service, with or without the
real data owners, and a client that plays a data owner of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from proof_support import (
    DATA_OWNERS,
    FAKE,
    Db,
    Forger,
    Proof,
    data_owners,
    privacy_service,
    registered_keys,
)

from contracts.privacy import EraseSubject
from servicekit.messages import MessageContext
from servicekit.service import Service
from support.services import fresh_namespace, running
from support.waiting import eventually


@pytest.fixture
async def fanout(amqp_url: str, mongo_url: str) -> AsyncIterator[Proof]:
    """The privacy service and the real accounts, provisioning and logs services, running, once
    privacy holds every data owner's receipt key."""
    async with fresh_namespace(amqp_url, mongo_url, [*DATA_OWNERS, "privacy", "proof"]) as base:
        privacy = privacy_service(base)
        owners = data_owners(base)
        client = Service.create("proof", base, stateless=True)
        async with running(privacy, client, *owners):
            await eventually(
                lambda: _keys_of(privacy.db, set(DATA_OWNERS)), what="every owner's key registered"
            )
            yield Proof(privacy, owners, Forger(client), base)


@pytest.fixture
async def alone(amqp_url: str, mongo_url: str) -> AsyncIterator[Proof]:
    """The privacy service with the forger's `alpha` as its only data owner."""
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", FAKE]) as base:
        privacy = privacy_service(base)
        client = Service.create(FAKE, base, stateless=True)
        client.router.on(EraseSubject, _tasks_are_answered_by_hand)
        forger = Forger(client)
        async with running(privacy, client):
            await forger.announce()
            await eventually(lambda: _keys_of(privacy.db, {FAKE}), what="alpha's key registered")
            yield Proof(privacy, [], forger, base)


async def _tasks_are_answered_by_hand(_command: EraseSubject, _context: MessageContext) -> None:
    """Alpha's task commands arrive here; each test answers them itself."""


async def _keys_of(db: Db, services: set[str]) -> Any:
    return set(await registered_keys(db)) >= services
