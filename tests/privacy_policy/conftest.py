"""Fixtures of the policy tests: the SMTP sink as a real process, accounts, privacy and the
gateway in-process in a fresh namespace, and a policy store on a database of one test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from policy_support import PolicyWorld, Sink
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from accounts.app import create_service as create_accounts
from accounts.settings import AccountsSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from privacy import policy, policy_store
from privacy.app import create_app as create_privacy
from privacy.settings import PrivacySettings
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.service import Service
from support.processes import ServiceProcess, free_port
from support.services import fresh_namespace, running

SERVICES = ["accounts", "privacy", "gateway", "tester"]


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[Sink]:
    """`python -m devstack smtp` on free ports, stopped after the test."""
    http_port, smtp_port = free_port(), free_port()
    process = ServiceProcess(
        ["-m", "devstack", "smtp"],
        {"HTTP_PORT": str(http_port), "SMTP_PORT": str(smtp_port)},
        tmp_path / "smtp.log",
    )
    process.start()
    try:
        await process.wait_ready()
        yield Sink(url=f"http://127.0.0.1:{http_port}", smtp_port=smtp_port)
    finally:
        process.stop()


@pytest.fixture
async def world(
    amqp_url: str, mongo_url: str, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[PolicyWorld]:
    """Accounts (mailing to the sink), privacy, the gateway and a caller, all running."""
    monkeypatch.setenv("SMTP_PORT", str(sink.smtp_port))
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    async with fresh_namespace(amqp_url, mongo_url, SERVICES) as base:
        accounts_settings = AccountsSettings.model_validate(
            {
                **base.model_dump(),
                "api_key_pepper": "test-pepper-for-policy-0123456789",
                "master_keys": LocalMasterKeys.generate(),
                "blind_index_key": BlindIndex.generate_key(),
            }
        )
        caller = Service.create("tester", base, stateless=True)
        accounts = create_accounts(accounts_settings)
        privacy = TestServer(create_privacy(PrivacySettings(**base.model_dump())))
        gateway = TestServer(create_gateway(GatewaySettings(**base.model_dump())))
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
        privacy_db = client[base.database_name("privacy")]
        async with running(caller, accounts):
            await privacy.start_server()
            await gateway.start_server()
            try:
                yield PolicyWorld(
                    caller=caller,
                    accounts=accounts,
                    privacy=privacy,
                    privacy_db=privacy_db,
                    gateway=gateway,
                    sink=sink,
                )
            finally:
                await gateway.close()
                await privacy.close()
                await client.close()


@pytest.fixture
async def policy_db(mongo_url: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A fresh database with the policy indexes and the seeded first version."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    name = f"policy_{uuid.uuid4().hex[:12]}"
    db = client[name]
    try:
        await policy_store.create_indexes(db)
        await policy.seed_first_version(db)
        yield db
    finally:
        await client.drop_database(name)
        await client.close()
