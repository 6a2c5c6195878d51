"""The demo order `make run` seeds, so the demo partner has an eSIM and an end user."""

from __future__ import annotations

from provisioning import store
from provisioning.store import Db
from servicekit.cli import seed_once
from servicekit.clock import utcnow

DEMO_PARTNER_ID = "ptn_demo"
DEMO_END_USER_EMAIL = "demo.contact@example.com"
"""The demo partner's owner bought a test eSIM for herself, so she is also an end user."""


async def seed_demo(db: Db) -> None:
    """Create the demo order once (never again after it was erased)."""
    await seed_once(db, "demo_order", lambda: _create_demo_order(db))


async def _create_demo_order(db: Db) -> None:
    await db[store.ORDERS].update_one(
        {"_id": "ord_demo"},
        {
            "$setOnInsert": {
                "partner_id": DEMO_PARTNER_ID,
                "status": "completed",
                "package_id": "pkg_demo_eu_5gb",
                "iccid": "8949000000000000017",
                "total": {"amount": 1299, "currency": "EUR"},
                "end_user": {"email": DEMO_END_USER_EMAIL, "reference": "demo-end-user-1"},
                "created_at": utcnow(),
            }
        },
        upsert=True,
    )
