"""The accounts service's collections and indexes."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

PARTNERS = "partners"
CONTACTS = "contacts"
USERS = "users"
SESSIONS = "sessions"
LOGIN_HISTORY = "login_history"
LOGIN_THROTTLE = "login_throttle"
RESTRICTIONS = "restrictions"
API_KEYS = "api_keys"
LEDGER = "ledger"
RECTIFICATIONS = "rectifications"

Db = AsyncDatabase[dict[str, Any]]


async def create_indexes(db: Db) -> None:
    """Every lookup the service makes is by an index (encrypted fields by their blind index)."""
    await db[CONTACTS].create_index("partner_id")
    await db[CONTACTS].create_index("email_bidx")
    await db[CONTACTS].create_index("phone_bidx")
    await db[PARTNERS].create_index("phone_bidx")
    await db[USERS].create_index("email_bidx", unique=True)
    await db[USERS].create_index("partner_id")
    await db[SESSIONS].create_index("token_hash", unique=True)
    await db[SESSIONS].create_index("user_id")
    await db[SESSIONS].create_index("expires_at")
    await db[LOGIN_HISTORY].create_index("user_id")
    await db[LOGIN_HISTORY].create_index("ip_bidx")
    await db[LOGIN_HISTORY].create_index("at")
    await db[RECTIFICATIONS].create_index("record_id")
    await db[API_KEYS].create_index("partner_id")
    await db[LEDGER].create_index("partner_id")
    await db[LEDGER].create_index("reference", unique=True)
