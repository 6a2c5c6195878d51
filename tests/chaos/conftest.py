"""The chaos suite's fixtures: its own RabbitMQ node and store server (never the shared ones),
the whole platform as processes on them in a fresh namespace, started once for the session,
and a healthy, quiet platform at the start of every scenario.

`amqp_url` and `mongo_url` are overridden here, so nothing in this folder touches the broker
or store server other test runs use.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The order and platform helpers of the end-to-end tests are top-level modules there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from chaos_checks import Checker, expect_no_dead_letters
from chaos_infra import CuttableProxy, OwnBroker, OwnStore, stop_abandoned_nodes
from chaos_support import all_ready, build_platform, platform_env, start_platform
from devstack.store_server import kind_from_env
from e2e_support import Platform
from pymongo import AsyncMongoClient

from support.names import left_behind, unique_namespace
from support.platform import seed_demo

RECOVERIES: list[str] = []
"""One line per scenario: what it injected and how long the platform took to recover."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List each scenario's measured time to recover."""
    for line in RECOVERIES:
        terminalreporter.write_line(f"chaos: {line}")


@dataclass
class Stack:
    """The suite's own broker node and store server, and the environment of its platform."""

    broker: OwnBroker
    store: OwnStore
    env: dict[str, str]


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """A RabbitMQ node and a store server of this session's own, which faults may stop and
    kill; the store is seeded while the broker boots."""
    namespace = unique_namespace()
    store = OwnStore(kind=kind_from_env(), data_dir=tmp_path_factory.mktemp("chaos-store"))
    broker = OwnBroker(name=f"chaos-{namespace}")
    await asyncio.to_thread(stop_abandoned_nodes, left_behind)
    await store.start()
    try:
        env = platform_env(broker.url, store.url, namespace)
        await asyncio.gather(broker.start(), seed_demo(env))
        try:
            yield Stack(broker, store, env)
        finally:
            await asyncio.to_thread(broker.stop)
    finally:
        store.stop()


@pytest.fixture(scope="session")
def own_broker(stack: Stack) -> OwnBroker:
    """The suite's own RabbitMQ node."""
    return stack.broker


@pytest.fixture(scope="session")
def own_store(stack: Stack) -> OwnStore:
    """The suite's own store server."""
    return stack.store


@pytest.fixture(scope="session")
def amqp_url(stack: Stack) -> str:
    """The suite's own broker (overrides the shared one)."""
    return stack.broker.url


@pytest.fixture(scope="session")
def mongo_url(stack: Stack) -> str:
    """The suite's own store server (overrides the shared one)."""
    return stack.store.url


@pytest.fixture(scope="session")
async def proxy(own_broker: OwnBroker) -> AsyncIterator[CuttableProxy]:
    """The link between provisioning and the broker."""
    link = CuttableProxy("127.0.0.1", own_broker.port)
    await link.start()
    try:
        yield link
    finally:
        await link.stop()


@pytest.fixture(scope="session")
async def platform(
    stack: Stack, proxy: CuttableProxy, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Every service, the provider simulator and the mail sink as processes."""
    proxied = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
    running = build_platform(stack.env, proxied, tmp_path_factory.mktemp("chaos-logs"))
    try:
        await start_platform(running)
        yield running
    finally:
        # The broker node and the store server are thrown away after the session: no
        # namespace to remove.
        await asyncio.gather(
            *(asyncio.to_thread(process.stop) for process in running.processes.values())
        )


@pytest.fixture(scope="session")
async def db(own_store: OwnStore) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    """A client of the suite's store server, for reading services' databases directly."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(own_store.url, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
async def checker(
    platform: Platform,
    db: AsyncMongoClient[dict[str, object]],
    own_broker: OwnBroker,
    proxy: CuttableProxy,
) -> Checker:
    """The final-state checker, once the platform is known to be healthy and quiet: every
    process ready, the link to the broker up, no queue holding anything."""
    proxy.restore()
    for process in platform.processes.values():
        if process.process is None or process.process.poll() is not None:
            process.start()
    checking = Checker(platform, db, own_broker)
    await all_ready(platform)
    expect_no_dead_letters(await checking.take_dead_letters())
    return checking


@pytest.fixture
def recovery(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Where a scenario notes its time to recover (listed at the end of the session)."""
    notes: list[str] = []
    yield notes
    RECOVERIES.extend(f"{request.node.name}: {note}" for note in notes)
