"""The whole platform as real processes in a fresh namespace, seeded with the demo partner."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

import aiohttp
import pytest
from devstack.run import dev_secrets, process_env, provider_env, seed_demo
from e2e_support import Platform
from pymongo import AsyncMongoClient

from servicekit.settings import ServiceSettings
from support.names import unique_namespace
from support.processes import ServiceProcess, free_port
from support.services import remove_namespace
from support.waiting import eventually

DATA_OWNERS = ["accounts", "provisioning", "logs"]
SERVICES = [*DATA_OWNERS, "privacy", "gateway"]
SIMULATOR = "providersim"
"""The network-provider simulator: a process like the services, but not on the bus."""
SMTP_SINK = "smtp"
"""The dev stack's SMTP sink (`python -m devstack smtp`): what services email, over HTTP."""


@pytest.fixture(scope="session")
def platform_env(amqp_url: str, mongo_url: str) -> dict[str, str]:
    """The environment every process of the test platform shares."""
    return {
        **os.environ,
        **dev_secrets(),
        "AMQP_URL": amqp_url,
        "MONGO_URL": mongo_url,
        "BUS_NAMESPACE": unique_namespace(),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
        "RETRY_DELAYS_MS": json.dumps([200, 1000]),
        "OUTBOX_POLL_SECONDS": "0.2",
        "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",
        "PROVIDER_TIMEOUT_SECONDS": "1",
    }


@pytest.fixture(scope="session")
async def platform(
    platform_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Start all five services and the provider simulator, seed the demo, wait until privacy
    knows every data owner."""
    logs_dir = tmp_path_factory.mktemp("platform-logs")
    seed_demo(platform_env)
    ports = {name: free_port() for name in [*SERVICES, SIMULATOR, SMTP_SINK]}
    env = {**platform_env, **provider_env(ports[SIMULATOR], ports["provisioning"])}
    env["SMTP_PORT"] = str(free_port())
    processes = {
        name: ServiceProcess(
            ["-m", name],
            {**process_env(name, env), "HTTP_PORT": str(ports[name])},
            logs_dir / f"{name}.log",
        )
        for name in [*SERVICES, SIMULATOR]
    }
    processes[SMTP_SINK] = ServiceProcess(
        ["-m", "devstack", SMTP_SINK],
        {**env, "HTTP_PORT": str(ports[SMTP_SINK])},
        logs_dir / f"{SMTP_SINK}.log",
    )
    running = Platform(
        namespace=platform_env["BUS_NAMESPACE"],
        env=env,
        processes=processes,
        demo_key=platform_env["DEMO_API_KEY"],
        mongo_url=platform_env["MONGO_URL"],
    )
    try:
        for process in processes.values():
            process.start()
        for process in processes.values():
            await process.wait_ready()
        await eventually(
            lambda: _registered(running), timeout=30, what="all data owners registered"
        )
        yield running
    finally:
        for process in processes.values():
            process.stop()
        settings = ServiceSettings(
            amqp_url=platform_env["AMQP_URL"],
            mongo_url=running.mongo_url,
            bus_namespace=running.namespace,
            retry_delays_ms=json.loads(platform_env["RETRY_DELAYS_MS"]),
        )
        await remove_namespace(settings, SERVICES)


async def _registered(platform: Platform) -> bool:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{platform.url('privacy')}/record-of-processing") as response,
    ):
        body = await response.json()
    return {entry["service"] for entry in body["services"]} >= set(DATA_OWNERS)


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of the partners' API authenticated with the demo key."""
    async with aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {platform.demo_key}"}
    ) as session:
        yield session


@pytest.fixture
async def db(platform: Platform) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    """A client for reading services' databases directly (as an auditor would)."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        platform.mongo_url, tz_aware=True
    )
    yield client
    await client.close()
