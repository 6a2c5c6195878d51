"""The accounts service's collections and indexes."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

PARTNERS = "partners"
CONTACTS = "contacts"
API_KEYS = "api_keys"
LEDGER = "ledger"
RECTIFICATIONS = "rectifications"

Db = AsyncDatabase[dict[str, Any]]


async def create_indexes(db: Db) -> None:
    """Every lookup the service makes is by an index."""
    await db[CONTACTS].create_index("partner_id")
    await db[CONTACTS].create_index("email")
    await db[CONTACTS].create_index("phone")
    await db[API_KEYS].create_index("partner_id")
    await db[LEDGER].create_index("partner_id")
    await db[LEDGER].create_index("reference", unique=True)
