"""A demo sign-in record, so the demo contact has technical logs to find and erase."""

from __future__ import annotations

from logs import store
from logs.store import Db
from servicekit.cli import seed_once
from servicekit.clock import utcnow


async def seed_demo(db: Db) -> None:
    """Create the demo sign-in record once (never again after it was erased)."""
    await seed_once(db, "demo_sign_in", lambda: _create_demo_sign_in(db))


async def _create_demo_sign_in(db: Db) -> None:
    await db[store.TECHNICAL].update_one(
        {"_id": "tlg_demo_signin"},
        {
            "$setOnInsert": {
                "kind": "dashboard_sign_in",
                "partner_id": "ptn_demo",
                "email": "demo.contact@example.com",
                "ip": "203.0.113.10",
                "user_agent": "Mozilla/5.0 (demo)",
                "at": utcnow(),
            }
        },
        upsert=True,
    )
