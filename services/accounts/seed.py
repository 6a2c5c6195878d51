"""The demo partner `make run` seeds: a partner, a contact, an owner, a key, a balance.

Personal fields go through the same code as real requests, so they are sealed at rest. The
demo owner `demo.owner@example.com` gets the password in `DEMO_PASSWORD` (set on every run
while the user exists); without it the owner exists but cannot sign in.
"""

from __future__ import annotations

import os

from accounts import apikeys, store
from accounts.auth import Passwords
from accounts.partners import Partners
from accounts.people import People
from accounts.settings import AccountsSettings
from accounts.store import Db
from accounts.users import NewUser, Users
from contracts.accounts import Actor, Role, Scope
from contracts.dashboard import PASSWORD_MAX, PASSWORD_MIN
from contracts.identity import AddContact, ContactRole, CreatePartner, PostalAddress
from servicekit.bus import Bus
from servicekit.cli import seed_once
from servicekit.clock import utcnow
from servicekit.topology import Topology
from servicekit.vault import Vault

DEMO_PARTNER_ID = "ptn_demo"
DEMO_CONTACT_ID = "con_demo"
DEMO_CONTACT_EMAIL = "demo.contact@example.com"
DEMO_OWNER_ID = "usr_demo_owner"
DEMO_OWNER_EMAIL = "demo.owner@example.com"
DEMO_BALANCE_MINOR = 100_000
DEMO_CURRENCY = "EUR"
SEEDER = Actor(kind="platform", id="seed")


async def seed_demo(
    db: Db, *, pepper: str, api_key: str, settings: AccountsSettings | None = None
) -> None:
    """Create the demo partner once; (re)register the demo key and owner password every run.

    `settings` gives the encryption keys and the bus namespace; by default they are read
    from the environment the seed command runs in.
    """
    parsed = apikeys.parse(api_key)
    if parsed is None:
        raise ValueError("the demo API key is not a well-formed esk_ key")
    settings = settings or AccountsSettings()  # from the environment
    vault = Vault.from_settings(db, settings)
    await seed_once(db, "demo_partner", lambda: _create_demo_partner(db, vault, settings))
    await seed_once(db, "demo_owner", lambda: _create_demo_owner(db, vault))
    await _set_owner_password(db, vault, os.environ.get("DEMO_PASSWORD"))
    await _register_key(db, parsed, pepper)


async def _create_demo_partner(db: Db, vault: Vault, settings: AccountsSettings) -> None:
    now = utcnow()
    bus = Bus(url=settings.amqp_url, topology=Topology(settings.bus_namespace), service="accounts")
    partners = Partners(db, vault, bus.outgoing)
    request = CreatePartner(
        actor=SEEDER,
        business_name="Demo Travel Ltd",
        registration_number="HRB 000000",
        address=PostalAddress(line1="Demo Street 1", city="Berlin", country="DE"),
        phone="+4930123456789",
        currency=DEMO_CURRENCY,
    )
    await partners.create(request, partner_id=DEMO_PARTNER_ID, now=now)
    contact = AddContact(
        actor=SEEDER,
        partner_id=DEMO_PARTNER_ID,
        name="Dana Demo",
        email=DEMO_CONTACT_EMAIL,
        phone="+4915112345678",
        role=ContactRole.OWNER,
    )
    await People(db, vault).add_contact(contact, contact_id=DEMO_CONTACT_ID, now=now)
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


async def _create_demo_owner(db: Db, vault: Vault) -> None:
    owner = NewUser(DEMO_PARTNER_ID, "Olive Owner", DEMO_OWNER_EMAIL, Role.OWNER.value)
    await Users(db, vault).insert_user(
        DEMO_OWNER_ID, owner, password_hash=None, by=SEEDER.id, now=utcnow()
    )


async def _set_owner_password(db: Db, vault: Vault, password: str | None) -> None:
    if not password:
        return
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX or password.lower() == DEMO_OWNER_EMAIL:
        raise ValueError(f"DEMO_PASSWORD needs {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    password_hash = await Passwords().hash(password)
    await Users(db, vault).set_password(DEMO_OWNER_ID, password_hash, utcnow())


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
