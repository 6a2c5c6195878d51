"""Fixtures of the log query tests: the logs service with only its queries registered (so
these tests do not depend on ingest), in a fresh namespace, and a caller."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from log_query_support import MIN_GROUP_SIZE, Logs

from logs.queries import register
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.keyring import EncryptionSettings
from servicekit.restrictions import join_restriction_register
from servicekit.service import Service
from servicekit.vault import Vault
from support.services import fresh_namespace, running


@pytest.fixture(scope="module")
async def logs(amqp_url: str, mongo_url: str) -> AsyncIterator[Logs]:
    """Logs answering usage, search and analytics (k = 3) and keeping the restriction
    register, and a caller on the bus."""
    async with fresh_namespace(amqp_url, mongo_url, ["logs", "caller"]) as base:
        service = Service.create("logs", base)
        register(service, MIN_GROUP_SIZE)
        join_restriction_register(service.router, service.restrictions)
        caller = Service.create("caller", base, stateless=True)
        keys = EncryptionSettings(
            master_keys=LocalMasterKeys.generate(), blind_index_key=BlindIndex.generate_key()
        )
        async with running(service, caller):
            yield Logs(bus=caller.bus, db=service.db, vault=Vault.from_settings(service.db, keys))
