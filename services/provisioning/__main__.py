"""python -m provisioning [serve | seed-demo]: run the provisioning service or seed its demo."""

from __future__ import annotations

from provisioning import store
from provisioning.app import NAME, create_app
from provisioning.seed import seed_demo
from provisioning.settings import ProvisioningSettings
from provisioning.store import Db
from servicekit.cli import service_main
from servicekit.vault import Vault


async def seed(db: Db, settings: ProvisioningSettings) -> None:
    """Seed the demo catalogue, and the demo order and eSIM (sealed: needs the keys)."""
    await store.create_indexes(db)
    encryption = settings.encryption()
    await seed_demo(db, Vault.from_settings(db, encryption) if encryption else None)


if __name__ == "__main__":
    service_main(NAME, ProvisioningSettings, create_app, seed)
