"""The privacy service's collections: requests (tasks inside), the inventory registry, exports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.privacy import DataCategory

REQUESTS = "requests"
REGISTRY = "inventory_registry"
EXPORTS = "exports"

Db = AsyncDatabase[dict[str, Any]]


async def create_indexes(db: Db) -> None:
    """Listing a partner's requests is by partner (then `_id`, which every collection indexes).

    Not a compound index with `_id`: nx-27017 then fails every write (decision 0002).
    """
    await db[REQUESTS].create_index("partner_id")


async def registered_services(db: Db) -> list[str]:
    """The data-owning services that announced an inventory, by name."""
    return sorted([doc["_id"] async for doc in db[REGISTRY].find({}, {"_id": 1})])


async def register_inventory(
    db: Db, service: str, categories: list[DataCategory], announced_at: Any
) -> None:
    """Record (or replace) a service's inventory in the registry."""
    announcement = {
        "categories": [c.model_dump(mode="json") for c in categories],
        "at": announced_at,
    }
    await db[REGISTRY].update_one(
        {"_id": service}, {"$set": {"announcement": announcement}}, upsert=True
    )


async def record_of_processing(db: Db) -> list[Mapping[str, Any]]:
    """Every registered service with its categories: the record of processing."""
    return [doc async for doc in db[REGISTRY].find({}).sort("_id", 1)]
