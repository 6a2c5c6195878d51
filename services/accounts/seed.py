"""The demo partner `make run` seeds: a partner, a contact, a key with every scope, a balance."""

from __future__ import annotations

from accounts import apikeys, store
from accounts.store import Db
from contracts.accounts import Scope
from servicekit.cli import seed_once
from servicekit.clock import utcnow

DEMO_PARTNER_ID = "ptn_demo"
DEMO_CONTACT_EMAIL = "demo.contact@example.com"
DEMO_BALANCE_MINOR = 100_000
DEMO_CURRENCY = "EUR"


async def seed_demo(db: Db, *, pepper: str, api_key: str) -> None:
    """Create the demo partner once; (re)register the demo key on every run."""
    parsed = apikeys.parse(api_key)
    if parsed is None:
        raise ValueError("the demo API key is not a well-formed esk_ key")
    await seed_once(db, "demo_partner", lambda: _create_demo_partner(db))
    await _register_key(db, parsed, pepper)


async def _create_demo_partner(db: Db) -> None:
    now = utcnow()
    await db[store.PARTNERS].update_one(
        {"_id": DEMO_PARTNER_ID},
        {
            "$setOnInsert": {
                "business_name": "Demo Travel Ltd",
                "status": "active",
                "currency": DEMO_CURRENCY,
                "created_at": now,
            }
        },
        upsert=True,
    )
    await db[store.CONTACTS].update_one(
        {"_id": "con_demo"},
        {
            "$setOnInsert": {
                "partner_id": DEMO_PARTNER_ID,
                "name": "Dana Demo",
                "email": DEMO_CONTACT_EMAIL,
                "phone": "+4915112345678",
                "role": "owner",
                "created_at": now,
            }
        },
        upsert=True,
    )
    await db[store.LEDGER].update_one(
        {"_id": "led_demo_topup"},
        {
            "$setOnInsert": {
                "reference": "seed:demo-topup",
                "partner_id": DEMO_PARTNER_ID,
                "kind": "top_up",
                "amount": DEMO_BALANCE_MINOR,
                "currency": DEMO_CURRENCY,
                "created_at": now,
            }
        },
        upsert=True,
    )


async def _register_key(db: Db, parsed: apikeys.ParsedKey, pepper: str) -> None:
    now = utcnow()
    await db[store.API_KEYS].update_one(
        {"_id": parsed.key_id},
        {
            "$set": {
                "partner_id": DEMO_PARTNER_ID,
                "prefix": parsed.prefix,
                "mode": parsed.mode,
                "scopes": [scope.value for scope in Scope],
                "secret_hmac": apikeys.secret_digest(parsed.secret, pepper),
            },
            "$unset": {"revocation": ""},
            "$setOnInsert": {"created_at": now, "name": "demo key"},
        },
        upsert=True,
    )
