"""Fixtures of the erasure-ledger tests: the real privacy service and a data owner played by the
test (`beta`), which hears every privacy message it is sent."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from privacy_ledger_support import OWNER, Ledgered

from servicekit.crypto import BlindIndex
from support.privacy_owners import FakeOwner, privacy_service
from support.services import fresh_namespace, running


@pytest.fixture
async def ledgered(amqp_url: str, mongo_url: str) -> AsyncIterator[Ledgered]:
    """Privacy with its ledger key, and `beta` registered as its only data owner (its tasks
    stay unanswered: the tests answer what they need)."""
    key = BlindIndex.generate_key()
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", OWNER]) as base:
        privacy = privacy_service(base, blind_index_key=key)
        owner = FakeOwner.create(OWNER, base)
        async with running(privacy, owner.service):
            await owner.register(privacy.db)
            yield Ledgered(privacy, owner, BlindIndex(base64.b64decode(key)))
