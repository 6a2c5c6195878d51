"""The logs service's collections and indexes."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

API_REQUESTS = "api_requests"
TECHNICAL = "technical_logs"

Db = AsyncDatabase[dict[str, Any]]

SUBJECT_FIELDS: dict[str, dict[str, str]] = {
    API_REQUESTS: {"partner_id": "partner_id", "ip": "ip"},
    TECHNICAL: {"email": "email", "ip": "ip", "partner_id": "partner_id"},
}
"""For each collection, which field each subject identifier is looked up by (all indexed)."""


async def create_indexes(db: Db) -> None:
    """Subject lookups and retention sweeps are by index."""
    for collection, fields in SUBJECT_FIELDS.items():
        for field in fields.values():
            await db[collection].create_index(field)
    await db[API_REQUESTS].create_index("received_at")
    await db[API_REQUESTS].create_index("request_id")
    await db[TECHNICAL].create_index("at")
