"""The logs service's collections, indexes, and the one way log documents are written."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

API_REQUESTS = "api_requests"
TECHNICAL = "technical_logs"

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

DUPLICATE_KEY = 11000

SEALED_FIELDS = ("ip", "user_agent", "email")
"""Personal fields stored only as `enc1…` tokens (absent when unknown)."""

BLIND_INDEXED: dict[str, str] = {"ip": "ip", "email": "email"}
"""Sealed fields that also get a blind index (`<field>_bidx`), by the index kind."""

SUBJECT_FIELDS: dict[str, dict[str, str]] = {
    API_REQUESTS: {"partner_id": "partner_id", "ip": "ip_bidx"},
    TECHNICAL: {
        "partner_id": "partner_id",
        "user_id": "user_id",
        "ip": "ip_bidx",
        "email": "email_bidx",
    },
}
"""For each collection, the (indexed) field each subject identifier kind is looked up by; the
ip and email fields hold blind indexes (`vault.index(kind, value)`), never the value."""

INDEXES: dict[str, list[str | list[tuple[str, int]]]] = {
    API_REQUESTS: [
        [("partner_id", 1), ("received_at", 1)],
        "received_at",
        "request_id",
        "day",
        "ip_bidx",
    ],
    TECHNICAL: [
        "at",
        "day",
        "request_id",
        "correlation_id",
        [("service", 1), ("level", 1)],
        "partner_id",
        "user_id",
        "ip_bidx",
        "email_bidx",
    ],
}
"""Partner and time, request and correlation ids, day, service and level, every subject field
(the partner id of API requests through the compound index's prefix). No index holds `_id`."""


async def create_indexes(db: Db) -> None:
    """Create every index (idempotent)."""
    for collection, keys in INDEXES.items():
        for key in keys:
            await db[collection].create_index(key)
