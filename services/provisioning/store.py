"""The provisioning service's collections and indexes."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

ORDERS = "orders"
RECTIFICATIONS = "rectifications"

Db = AsyncDatabase[dict[str, Any]]

SUBJECT_FIELDS = {
    "email": "end_user.email",
    "end_user_ref": "end_user.reference",
    "iccid": "iccid",
    "partner_id": "partner_id",
}
"""Which order field each subject identifier is looked up by (each one indexed)."""


async def create_indexes(db: Db) -> None:
    """Every subject lookup is by an index."""
    for field in SUBJECT_FIELDS.values():
        await db[ORDERS].create_index(field)
