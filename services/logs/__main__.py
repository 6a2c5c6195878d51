"""python -m logs [serve | seed-demo]: run the logs service or seed its demo record."""

from __future__ import annotations

from logs import store
from logs.app import NAME, create_app
from logs.seed import seed_demo
from logs.settings import LogsSettings
from logs.store import Db
from servicekit.cli import service_main


async def seed(db: Db, _settings: LogsSettings) -> None:
    """Seed the demo sign-in record."""
    await store.create_indexes(db)
    await seed_demo(db)


if __name__ == "__main__":
    service_main(NAME, LogsSettings, create_app, seed)
