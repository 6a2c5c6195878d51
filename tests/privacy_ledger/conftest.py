"""Fixtures of the erasure-ledger tests: the real privacy service and a data owner played by the
test (`beta`), which hears every privacy message it is sent."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from privacy_ledger_support import OWNER, Ledgered, announce, owner_service

from privacy.app import create_service as create_privacy
from privacy.settings import PrivacySettings
from servicekit.crypto import BlindIndex
from support.services import fresh_namespace, running
from support.waiting import eventually


@pytest.fixture
async def ledgered(amqp_url: str, mongo_url: str) -> AsyncIterator[Ledgered]:
    """Privacy with its ledger key, and `beta` registered as its only data owner."""
    key = BlindIndex.generate_key()
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", OWNER]) as base:
        privacy = create_privacy(
            PrivacySettings.model_validate({**base.model_dump(), "blind_index_key": key})
        )
        owner, heard = owner_service(base)
        async with running(privacy, owner):
            await announce(owner)
            await eventually(
                lambda: privacy.db["inventory_registry"].find_one({"_id": OWNER}),
                what="beta registered",
            )
            yield Ledgered(privacy, owner, heard, BlindIndex(base64.b64decode(key)))
