"""The command line every service shares: `python -m <service> [serve | seed-demo | <tool>]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pymongo.asynchronous.database import AsyncDatabase

from servicekit.clock import utcnow
from servicekit.logging import configure_logging
from servicekit.service import run
from servicekit.settings import ServiceSettings
from servicekit.store import Store

S = TypeVar("S", bound=ServiceSettings)

Seeder = Callable[[AsyncDatabase[dict[str, Any]], S], Awaitable[None]]


SEEDS = "_seeds"


@dataclass(frozen=True)
class Tool:
    """A subcommand that works on the service's own database and exits with `run`'s code."""

    name: str
    help: str
    run: Callable[[AsyncDatabase[dict[str, Any]], argparse.Namespace], Awaitable[int]]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


async def _run_tool(
    name: str, settings: ServiceSettings, tool: Tool, arguments: argparse.Namespace
) -> int:
    store = Store(url=settings.mongo_url, database=settings.database_name(name))
    try:
        return await tool.run(store.db, arguments)
    finally:
        await store.close()


async def seed_once(
    db: AsyncDatabase[dict[str, Any]], name: str, create: Callable[[], Awaitable[None]]
) -> bool:
    """Run `create` unless a seed of this name ran before; whether it ran.

    Demo data is created once: seeding again must not bring back personal data that a
    data-subject request has since erased.
    """
    if await db[SEEDS].find_one({"_id": name}) is not None:
        return False
    await create()
    await db[SEEDS].update_one({"_id": name}, {"$setOnInsert": {"at": utcnow()}}, upsert=True)
    return True


async def _seed(name: str, settings: S, seeder: Seeder[S]) -> None:
    store = Store(url=settings.mongo_url, database=settings.database_name(name))
    try:
        await seeder(store.db, settings)
    finally:
        await store.close()


def service_main(
    name: str,
    settings_class: type[S],
    create_app: Callable[[S], web.Application],
    seeder: Seeder[S] | None = None,
    tools: Sequence[Tool] = (),
) -> None:
    """Parse the command line; serve the service, seed its demo data, or run one of its tools."""
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (the default)")
    if seeder is not None:
        commands.add_parser("seed-demo", help="create the demo data (idempotent)")
    for tool in tools:
        tool_parser = commands.add_parser(tool.name, help=tool.help)
        if tool.arguments is not None:
            tool.arguments(tool_parser)
    arguments = parser.parse_args()
    settings = settings_class()
    configure_logging(name, settings.log_level, settings.log_format)
    if arguments.command == "seed-demo" and seeder is not None:
        asyncio.run(_seed(name, settings, seeder))
        return
    for tool in tools:
        if arguments.command == tool.name:
            sys.exit(asyncio.run(_run_tool(name, settings, tool, arguments)))
    run(create_app(settings), settings)
