"""python -m logs [serve | seed-demo]: run the logs service or seed its demo record."""

from __future__ import annotations

from logs import store
from logs.app import NAME, create_app
from logs.seed import seed_demo
from logs.settings import LogsSettings
from logs.store import Db
from servicekit.cli import service_main
from servicekit.vault import Vault


async def seed(db: Db, settings: LogsSettings) -> None:
    """Seed the demo sign-in record (sealed: MASTER_KEYS and BLIND_INDEX_KEY are needed)."""
    encryption = settings.encryption()
    if encryption is None:
        raise SystemExit("logs: MASTER_KEYS and BLIND_INDEX_KEY are needed to seed")
    vault = Vault.from_settings(db, encryption)
    await vault.keyring.create_indexes()
    await store.create_indexes(db)
    await seed_demo(db, vault)


if __name__ == "__main__":
    service_main(NAME, LogsSettings, create_app, seed)
