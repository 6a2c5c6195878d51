"""The whole platform as real processes, started once per session for every folder that needs it
(tests/e2e and tests/browser): a pytest plugin (`pytest_plugins` in tests/conftest.py).

One start serves them all: each test makes its own partner and keys, or uses the demo partner
only in ways other tests do not depend on. The one exception: an API test checks the demo
balance that the browser journey spends, so the order below puts the browser's files last.
The files that use the platform run at the end of the session, together
(`pytest_collection_modifyitems`), so its processes do not sit idle polling the store while
the rest of the suite runs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from devstack.run import dev_secrets, process_env, provider_env

from servicekit.settings import ServiceSettings
from support.names import unique_namespace
from support.processes import ServiceProcess, free_port, run_module
from support.services import remove_namespace
from support.waiting import eventually

DATA_OWNERS = ["accounts", "provisioning", "logs"]
SERVICES = [*DATA_OWNERS, "privacy", "gateway"]
SIMULATOR = "providersim"
"""The network-provider simulator: a process like the services, but not on the bus."""
SMTP_SINK = "smtp"
"""The dev stack's SMTP sink (`python -m devstack smtp`): what services email, over HTTP."""
SEED_TIMEOUT_S = 120.0


@dataclass
class Platform:
    """A running platform: its processes, URLs, the demo key and the namespace."""

    namespace: str
    env: dict[str, str]
    processes: dict[str, ServiceProcess]
    demo_key: str
    mongo_url: str

    def url(self, service: str) -> str:
        """Base URL of a service's HTTP server."""
        return f"http://127.0.0.1:{self.processes[service].port}"

    @property
    def gateway(self) -> str:
        """Base URL of the partners' API."""
        return self.url("gateway")

    def database(self, service: str) -> str:
        """Name of a service's database."""
        return f"{self.namespace}_{service}"

    def all_output(self) -> str:
        """Everything every service printed."""
        return "\n".join(process.output() for process in self.processes.values())


def uses_shared_platform(item: pytest.Item) -> bool:
    """Whether a test uses this plugin's `platform` (not a folder's own fixture of that name)."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.get("platform") if info is not None else None
    if not definitions:
        return False
    return bool(definitions[-1].func.__module__ == __name__)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the test files that use the shared platform last (whole files, so their module
    fixtures are set up once), the API's before the browser's: the browser journey spends the
    demo partner's balance, which an API test checks is the seeded one."""
    users = {item.path for item in items if uses_shared_platform(item)}
    in_browser = {item.path for item in items if "browser" in getattr(item, "fixturenames", ())}

    def place(item: pytest.Item) -> tuple[bool, bool]:
        return item.path in users, item.path in in_browser

    items.sort(key=place)


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
        # Production's poll: relays are kicked by their own writes, the poll only finds writes
        # made elsewhere; 0.2 s made the idle processes and the store burn ~4x the CPU.
        "OUTBOX_POLL_SECONDS": "1.0",
        "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",
        "PROVIDER_TIMEOUT_SECONDS": "1",
    }


@pytest.fixture(scope="session")
async def platform(
    platform_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Start all five services, the provider simulator and the mail sink on the seeded demo;
    wait until privacy knows every data owner."""
    await seed_demo(platform_env)
    ports = {name: free_port() for name in [*SERVICES, SIMULATOR, SMTP_SINK]}
    env = {**platform_env, **provider_env(ports[SIMULATOR], ports["provisioning"])}
    env["SMTP_PORT"] = str(free_port())
    running = Platform(
        namespace=platform_env["BUS_NAMESPACE"],
        env=env,
        processes=_processes(env, ports, tmp_path_factory.mktemp("platform-logs")),
        demo_key=platform_env["DEMO_API_KEY"],
        mongo_url=platform_env["MONGO_URL"],
    )
    try:
        for process in running.processes.values():
            process.start()
        await asyncio.gather(*(p.wait_ready() for p in running.processes.values()))
        await eventually(
            lambda: owners_registered(running), timeout=30, what="all data owners registered"
        )
        yield running
    finally:
        await asyncio.gather(
            *(asyncio.to_thread(process.stop) for process in running.processes.values())
        )
        await remove_namespace(_settings(platform_env), SERVICES)


async def seed_demo(env: dict[str, str]) -> None:
    """Every data owner's demo data (`python -m <service> seed-demo`), seeded side by side."""
    runs = await asyncio.gather(
        *(run_module(name, ("seed-demo",), env, SEED_TIMEOUT_S) for name in DATA_OWNERS)
    )
    failed = [run.err[-3000:] for run in runs if run.code != 0]
    assert not failed, f"seeding the demo failed: {failed}"


def _processes(
    env: dict[str, str], ports: dict[str, int], logs_dir: Path
) -> dict[str, ServiceProcess]:
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
    return processes


def _settings(platform_env: dict[str, str]) -> ServiceSettings:
    return ServiceSettings(
        amqp_url=platform_env["AMQP_URL"],
        mongo_url=platform_env["MONGO_URL"],
        bus_namespace=platform_env["BUS_NAMESPACE"],
        retry_delays_ms=json.loads(platform_env["RETRY_DELAYS_MS"]),
    )


async def owners_registered(platform: Platform) -> bool:
    """Whether privacy's record of processing names every data owner."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{platform.url('privacy')}/record-of-processing") as response,
    ):
        body = await response.json()
    return {entry["service"] for entry in body["services"]} >= set(DATA_OWNERS)
