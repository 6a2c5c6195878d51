"""Helpers of the broker-ops tests: a service whose handler fails on purpose until it is
fixed, so that its messages dead-letter, and the command line run in-process or as a process."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aio_pika.abc import AbstractConnection

from servicekit import ops_cli
from servicekit.messages import MessageContext
from servicekit.queue_depths import queue_depths
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from support.messages import CountThing
from support.processes import Run, run_module
from support.services import running
from support.waiting import eventually

SERVICE = "alpha"
CLI_TIMEOUT_S = 30.0


@dataclass
class FlakyCounter:
    """A service counting CountThing commands; while `broken`, its handler always fails."""

    service: Service
    broken: bool = True
    handled: list[tuple[str, int]] = field(default_factory=list)
    """(key, attempt) of every handled command."""

    async def on_count(self, command: CountThing, context: MessageContext) -> None:
        if self.broken:
            raise RuntimeError("broken on purpose")
        self.handled.append((command.key, context.attempt))

    async def send(self, key: str) -> None:
        await self.service.bus.publish(CountThing(key=key), to=SERVICE)


@asynccontextmanager
async def running_counter(settings: ServiceSettings) -> AsyncIterator[FlakyCounter]:
    """The service, running and broken, until the block ends."""
    counter = FlakyCounter(Service.create(SERVICE, settings))
    counter.service.router.on(CountThing, counter.on_count)
    async with running(counter.service):
        yield counter


async def dead_letter_count(connection: AbstractConnection, settings: ServiceSettings) -> int:
    """Messages ready in the service's DLQ."""
    depths = await queue_depths(connection, Topology(settings.bus_namespace), [SERVICE])
    return next(d.messages or 0 for d in depths if d.kind == "dlq")


async def dead_lettered(
    counter: FlakyCounter, connection: AbstractConnection, settings: ServiceSettings, key: str
) -> None:
    """Send a command the broken handler fails on, and wait until it is in the DLQ."""
    before = await dead_letter_count(connection, settings)

    async def arrived() -> bool:
        return await dead_letter_count(connection, settings) > before

    await counter.send(key)
    await eventually(arrived, what=f"{key} dead-lettered")


async def cli(settings: ServiceSettings, *argv: str) -> Run:
    """Run the command line in-process against the namespace."""
    out, err = io.StringIO(), io.StringIO()
    code = await ops_cli.run_command(argv, settings, out=out, errors=err)
    return Run(code, out.getvalue(), err.getvalue())


async def cli_process(settings: ServiceSettings, *argv: str) -> Run:
    """Run `python -m servicekit.ops_cli <argv>` as its own process with the namespace's
    environment."""
    env = {"AMQP_URL": settings.amqp_url, "BUS_NAMESPACE": settings.bus_namespace}
    return await run_module("servicekit.ops_cli", argv, env, CLI_TIMEOUT_S)
