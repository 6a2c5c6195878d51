"""The command line every service shares: `python -m <service> [serve | seed-demo]`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
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
) -> None:
    """Parse the command line; serve the service, or seed its demo data."""
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (the default)")
    if seeder is not None:
        commands.add_parser("seed-demo", help="create the demo data (idempotent)")
    arguments = parser.parse_args()
    settings = settings_class()
    configure_logging(name, settings.log_level, settings.log_format)
    if arguments.command == "seed-demo" and seeder is not None:
        asyncio.run(_seed(name, settings, seeder))
        return
    run(create_app(settings), settings)
