"""The demo partner `make run` seeds: a partner, a contact, an owner, a key, a balance.

Personal fields go through the same code as real requests, so they are sealed at rest, and
the balance is a real ledger balance: opened with the partner, then credited with the demo
top-up through the ledger, once per reference. Demo data is created once (a data-subject
request may erase it since); the demo key is registered again on every run. The demo owner
`demo.owner@example.com` gets the password in `DEMO_PASSWORD` (set on every run while the
user exists); without it the owner exists but cannot sign in.

Nothing here is published: the seed builds its events into outboxes, and the accounts
service's outbox relay publishes them once it runs.
"""

from __future__ import annotations

import os
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from accounts import apikeys, keys_store, store
from accounts.auth import Passwords
from accounts.ledger import Ledger
from accounts.partners import Partners
from accounts.people import People
from accounts.settings import AccountsSettings
from accounts.store import Db
from accounts.users import NewUser, Users
from contracts.accounts import Actor, Role, Scope
from contracts.dashboard import PASSWORD_MAX, PASSWORD_MIN
from contracts.identity import AddContact, ContactRole, CreatePartner, PostalAddress
from contracts.ledger import CreditKind
from contracts.money import Money
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
DEMO_TOP_UP_REFERENCE = "seed-demo-topup"
"""The demo top-up's credit reference: the ledger books it once, however often the seed runs."""
LEGACY_TOP_UP_ID = "led_demo_topup"
"""The raw ledger document earlier seeds wrote in place of a real top-up (no status)."""
SEEDER = Actor(kind="platform", id="seed")


async def seed_demo(db: Db, *, pepper: str, api_key: str, settings: AccountsSettings) -> None:
    """Create the demo partner and its balance once; (re)register the demo key and the owner's
    password every run. `settings` gives the encryption keys, the bus namespace and the
    low-balance thresholds."""
    parsed = apikeys.parse(api_key)
    if parsed is None:
        raise ValueError("the demo API key is not a well-formed esk_ key")
    vault = Vault.from_settings(db, settings)
    bus = Bus(url=settings.amqp_url, topology=Topology(settings.bus_namespace), service="accounts")
    ledger = Ledger(db, bus, low_balance_thresholds=settings.low_balance_thresholds)
    partners = Partners(db, vault, bus.outgoing, open_balance=ledger.open_balance)
    await seed_once(db, "demo_partner", lambda: _create_demo_partner(db, vault, partners))
    await seed_once(db, "demo_owner", lambda: _create_demo_owner(db, vault))
    await seed_once(db, "demo_balance", lambda: _top_up_demo_balance(db, ledger, utcnow()))
    passwords = Passwords(settings.password_hasher())
    await _set_owner_password(db, vault, passwords, os.environ.get("DEMO_PASSWORD"))
    await register_demo_key(db, parsed, pepper, utcnow())


async def _create_demo_partner(db: Db, vault: Vault, partners: Partners) -> None:
    now = utcnow()
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


async def _top_up_demo_balance(db: Db, ledger: Ledger, now: datetime) -> None:
    """Credit the demo top-up through the ledger (which opens the balance if it is missing)."""
    # Earlier seeds wrote a bare entry that no balance counted; a real top-up replaces it.
    await db[store.LEDGER].delete_one({"_id": LEGACY_TOP_UP_ID, "status": {"$exists": False}})
    amount = Money(amount=DEMO_BALANCE_MINOR, currency=DEMO_CURRENCY)
    await ledger.credit(DEMO_PARTNER_ID, CreditKind.TOP_UP, DEMO_TOP_UP_REFERENCE, amount, now)


async def _create_demo_owner(db: Db, vault: Vault) -> None:
    owner = NewUser(DEMO_PARTNER_ID, "Olive Owner", DEMO_OWNER_EMAIL, Role.OWNER.value)
    await Users(db, vault).insert_user(
        DEMO_OWNER_ID, owner, password_hash=None, by=SEEDER.id, now=utcnow()
    )


async def _set_owner_password(
    db: Db, vault: Vault, passwords: Passwords, password: str | None
) -> None:
    if not password:
        return
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX or password.lower() == DEMO_OWNER_EMAIL:
        raise ValueError(f"DEMO_PASSWORD needs {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    password_hash = await passwords.hash(password)
    await Users(db, vault).set_password(DEMO_OWNER_ID, password_hash, utcnow())


async def register_demo_key(db: Db, parsed: apikeys.ParsedKey, pepper: str, now: datetime) -> None:
    """Store the demo key with every scope, working: a new key with an empty outbox (for its
    revocation event later); an existing one with its secret and scopes set again and any
    revocation or rotation expiry lifted."""
    document = keys_store.key_document(
        parsed,
        partner_id=DEMO_PARTNER_ID,
        name="demo key",
        scopes=list(Scope),
        secret_hmac=apikeys.secret_digest(parsed.secret, pepper),
        actor=SEEDER,
        now=now,
    )
    try:
        await db[store.API_KEYS].insert_one(document)
        return
    except DuplicateKeyError:
        pass
    keys = db[store.API_KEYS]
    await keys_store.adopt_outbox(keys, parsed.key_id)  # keys stored by earlier seeds lack one
    await keys.update_one(
        {"_id": parsed.key_id},
        {
            "$set": {
                "partner_id": DEMO_PARTNER_ID,
                "prefix": parsed.prefix,
                "mode": parsed.mode,
                "scopes": document["scopes"],
                "secret_hmac": document["secret_hmac"],
            },
            "$unset": {"revocation": "", "expiry": ""},
        },
    )
