"""python -m accounts [serve | seed-demo]: run the accounts service or seed the demo partner."""

from __future__ import annotations

from accounts import ledger_store, store
from accounts.app import NAME, create_app
from accounts.seed import seed_demo
from accounts.settings import AccountsSettings
from accounts.store import Db
from servicekit.cli import service_main


async def seed(db: Db, settings: AccountsSettings) -> None:
    """Seed the demo partner with the key in DEMO_API_KEY, under these settings."""
    if settings.demo_api_key is None:
        raise SystemExit("set DEMO_API_KEY to the demo key (esk_test_...) to seed it")
    await store.create_indexes(db)
    await ledger_store.create_indexes(db)
    await seed_demo(
        db,
        pepper=settings.api_key_pepper.get_secret_value(),
        api_key=settings.demo_api_key.get_secret_value(),
        settings=settings,
    )


if __name__ == "__main__":
    service_main(NAME, AccountsSettings, create_app, seed)
