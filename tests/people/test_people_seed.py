"""The demo seed goes through the people code: the contact sealed, an owner who signs in with
DEMO_PASSWORD, and nothing duplicated by seeding again."""

from __future__ import annotations

import pytest
from people_support import IP, USER_AGENT, Doc
from pymongo.asynchronous.database import AsyncDatabase

from accounts import apikeys
from accounts.auth import Auth, LoginPolicy, Passwords
from accounts.seed import DEMO_CONTACT_EMAIL, DEMO_OWNER_EMAIL, DEMO_PARTNER_ID, seed_demo
from accounts.settings import AccountsSettings
from contracts.accounts import Role
from contracts.dashboard import Login
from servicekit.clock import utcnow
from servicekit.vault import Vault

DEMO_PASSWORD = "demo password 2026"
PEPPER = "test-pepper-for-the-seed-0123456789"


async def test_the_demo_seed_seals_people_and_lets_the_owner_sign_in(
    scratch_db: AsyncDatabase[Doc],
    scratch_settings: AccountsSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seeding twice leaves one partner, one sealed contact found by its blind index and one
    owner, who signs in with DEMO_PASSWORD."""
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    api_key, _ = apikeys.generate("test")
    for _ in range(2):
        await seed_demo(scratch_db, pepper=PEPPER, api_key=api_key, settings=scratch_settings)
    vault = Vault.from_settings(scratch_db, scratch_settings)
    assert await scratch_db["partners"].count_documents({}) == 1
    contacts = [doc async for doc in scratch_db["contacts"].find({})]
    assert len(contacts) == 1
    assert DEMO_CONTACT_EMAIL not in repr(contacts)
    assert contacts[0]["email_bidx"] == vault.index("email", DEMO_CONTACT_EMAIL)
    assert await scratch_db["users"].count_documents({}) == 1

    auth = Auth(scratch_db, vault, Passwords(), LoginPolicy())
    login = Login(email=DEMO_OWNER_EMAIL, password=DEMO_PASSWORD, ip=IP, user_agent=USER_AGENT)
    result = await auth.login(login, utcnow())
    assert result.session is not None
    assert (result.session.actor.partner_id, result.session.actor.role) == (
        DEMO_PARTNER_ID,
        Role.OWNER,
    )


async def test_a_weak_demo_password_is_refused(
    scratch_db: AsyncDatabase[Doc],
    scratch_settings: AccountsSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A DEMO_PASSWORD shorter than the policy allows stops the seed with a clear error."""
    monkeypatch.setenv("DEMO_PASSWORD", "short")
    api_key, _ = apikeys.generate("test")
    with pytest.raises(ValueError, match="DEMO_PASSWORD"):
        await seed_demo(scratch_db, pepper=PEPPER, api_key=api_key, settings=scratch_settings)
