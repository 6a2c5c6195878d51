"""python -m provisioning [serve | seed-demo]: run the provisioning service or seed its demo."""

from __future__ import annotations

from provisioning import store
from provisioning.app import NAME, create_app
from provisioning.seed import seed_demo
from provisioning.settings import ProvisioningSettings
from provisioning.store import Db
from servicekit.cli import service_main


async def seed(db: Db, _settings: ProvisioningSettings) -> None:
    """Seed the demo order."""
    await store.create_indexes(db)
    await seed_demo(db)


if __name__ == "__main__":
    service_main(NAME, ProvisioningSettings, create_app, seed)
