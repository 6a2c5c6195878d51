"""The account, contact and user pages: the owner rectifies the business details and the
contacts, adds and removes contacts, creates users; a viewer, a form without its CSRF token and
bad input are refused, and accounts' own queries show that nothing changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from dashboard_support import OWNER_EMAIL, PASSWORD, VIEWER_EMAIL, Browser, DashboardWorld, csrf_in

from contracts.accounts import Role
from contracts.dashboard import CreateUser, ListUsers, UserList, UserView
from contracts.identity import (
    AddContact,
    ContactList,
    ContactRole,
    ContactView,
    GetPartner,
    ListContacts,
    PartnerView,
)
from support.accounts_owner import OPS

ACCOUNT = "/dashboard/account"
EDIT = "/dashboard/account/edit"
CONTACTS = "/dashboard/contacts"
USERS = "/dashboard/users"
NEW_DETAILS = {
    "business_name": "Harbour Roaming GmbH",
    "registration_number": "HRB 9999",
    "tax_id": "DE123456789",
    "phone": "+4940999888",
    "address.line1": "Kaistraße 12",
    "address.city": "Bremen",
    "address.country": "DE",
}
ADA = {"name": "Ada Lovelace", "email": "ada@partner.example.org", "role": "billing"}


@pytest.fixture
async def viewer(browser_factory: Callable[[], Awaitable[Browser]]) -> Browser:
    """A browser signed in as the partner's viewer."""
    browser = await browser_factory()
    assert (await browser.log_in(VIEWER_EMAIL)).status == 303
    return browser


async def _partner(world: DashboardWorld) -> PartnerView:
    return await world.ask(GetPartner(actor=OPS, partner_id=world.partner.id), PartnerView)


async def _contacts(world: DashboardWorld) -> list[ContactView]:
    listing = await world.ask(ListContacts(actor=OPS, partner_id=world.partner.id), ContactList)
    return listing.data


async def _users(world: DashboardWorld) -> dict[str, str]:
    listing = await world.ask(ListUsers(actor=OPS, partner_id=world.partner.id), UserList)
    return {str(user.email): user.role.value for user in listing.data}


async def _contact(world: DashboardWorld) -> ContactView:
    """Ada, a contact accounts holds for the partner."""
    request = AddContact.model_validate({"actor": OPS, "partner_id": world.partner.id, **ADA})
    return await world.ask(request, ContactView)


async def _send(browser: Browser, page: str, path: str, form: dict[str, Any]) -> Any:
    """Send a form the way the page offers it, with the page's CSRF token."""
    return await browser.post(path, {"csrf_token": await browser.csrf_of(page), **form})


async def test_the_owner_rectifies_the_business_details(
    owner: Browser, world: DashboardWorld
) -> None:
    """The form shows the details as they are; saving them goes back to the account page,
    which shows the notice and the new details."""
    form = await owner.get(EDIT)
    assert form.status == 200
    assert 'value="HRB 4242"' in form.text
    assert 'value="Hamburg"' in form.text
    saved = await _send(owner, EDIT, EDIT, NEW_DETAILS)
    assert (saved.status, saved.location) == (303, f"{ACCOUNT}?done=account-updated")
    page = await owner.get(saved.location)
    assert "The business details were saved." in page.text
    assert "Harbour Roaming GmbH" in page.text
    assert "Bremen" in page.text
    partner = await _partner(world)
    assert (partner.business_name, partner.phone, partner.tax_id) == (
        "Harbour Roaming GmbH",
        "+4940999888",
        "DE123456789",
    )
    assert partner.address is not None
    assert partner.address.city == "Bremen"
    assert partner.currency == world.partner.currency


async def test_refused_account_forms_change_nothing(
    owner: Browser, viewer: Browser, world: DashboardWorld
) -> None:
    """A viewer gets the 403 page, a form without the token too, and an invalid phone number
    the form again with its error: the details stay as they were."""
    refused = await _send(viewer, EDIT, EDIT, NEW_DETAILS)
    assert refused.status == 403
    assert "partner:update" in refused.text
    forged = await owner.post(EDIT, {**NEW_DETAILS, "csrf_token": "f" * 64})
    assert forged.status == 403
    invalid = await _send(owner, EDIT, EDIT, {**NEW_DETAILS, "phone": "040 123"})
    assert invalid.status == 422
    assert "Give an international number" in invalid.text
    assert 'value="Harbour Roaming GmbH"' in invalid.text  # the input is kept to correct it
    missing = await _send(owner, EDIT, EDIT, {**NEW_DETAILS, "business_name": " "})
    assert missing.status == 422
    assert "This field is required." in missing.text
    assert await _partner(world) == world.partner


async def test_the_owner_adds_corrects_and_removes_a_contact(
    owner: Browser, world: DashboardWorld
) -> None:
    """Added through the list's form, rectified through the edit form (the change shows on
    the list), removed after the confirmation page."""
    added = await _send(owner, CONTACTS, CONTACTS, {**ADA, "phone": "+4915112345678"})
    assert (added.status, added.location) == (303, f"{CONTACTS}?done=contact-added")
    assert "ada@partner.example.org" in (await owner.get(added.location)).text
    [contact] = await _contacts(world)
    edit = f"{CONTACTS}/{contact.id}/edit"
    form = await owner.get(edit)
    assert 'value="ada@partner.example.org"' in form.text
    corrected = {"name": "Ada King", "email": "ada.king@partner.example.org", "role": "legal"}
    saved = await _send(owner, edit, edit, corrected)
    assert (saved.status, saved.location) == (303, f"{CONTACTS}?done=contact-updated")
    listing = await owner.get(saved.location)
    assert "ada.king@partner.example.org" in listing.text
    assert "ada@partner.example.org" not in listing.text
    [rectified] = await _contacts(world)
    assert (rectified.name, rectified.email, rectified.role, rectified.phone) == (
        "Ada King",
        "ada.king@partner.example.org",
        ContactRole.LEGAL,
        "+4915112345678",  # an empty phone field leaves the phone as it is
    )
    remove = f"{CONTACTS}/{contact.id}/remove"
    confirm = await owner.get(remove)
    assert confirm.status == 200
    assert f'action="{remove}"' in confirm.text
    removed = await owner.post(remove, {"csrf_token": csrf_in(confirm.text)})
    assert (removed.status, removed.location) == (303, f"{CONTACTS}?done=contact-removed")
    assert await _contacts(world) == []
    assert "Ada King" not in (await owner.get(CONTACTS)).text


async def test_a_viewer_reads_the_contacts_but_changes_nothing(
    viewer: Browser, world: DashboardWorld
) -> None:
    """The viewer sees the list; adding, correcting and removing are 403 pages."""
    contact = await _contact(world)
    listing = await viewer.get(CONTACTS)
    assert listing.status == 200
    assert "ada@partner.example.org" in listing.text
    token = csrf_in(listing.text)
    new = {**ADA, "email": "eve@partner.example.org", "csrf_token": token}
    assert (await viewer.post(CONTACTS, new)).status == 403
    edit = f"{CONTACTS}/{contact.id}/edit"
    assert (await viewer.post(edit, {**ADA, "name": "Eve", "csrf_token": token})).status == 403
    removed = await viewer.post(f"{CONTACTS}/{contact.id}/remove", {"csrf_token": token})
    assert removed.status == 403
    assert "people:manage" in removed.text
    assert await _contacts(world) == [contact]


async def test_refused_contact_forms_change_nothing(owner: Browser, world: DashboardWorld) -> None:
    """Without the token: 403 pages; an invalid email: the form again with the error."""
    contact = await _contact(world)
    edit, remove = f"{CONTACTS}/{contact.id}/edit", f"{CONTACTS}/{contact.id}/remove"
    for path, form in ((CONTACTS, ADA), (edit, {**ADA, "name": "Eve"}), (remove, {})):
        forged = await owner.post(path, {**form, "csrf_token": "f" * 64})
        assert forged.status == 403
        assert "did not come from this dashboard" in forged.text
    bad = {**ADA, "email": "not-an-email"}
    for page, path in ((CONTACTS, CONTACTS), (edit, edit)):
        invalid = await _send(owner, page, path, bad)
        assert invalid.status == 422
        assert 'data-field="email"' in invalid.text
        assert 'value="not-an-email"' in invalid.text
    assert await _contacts(world) == [contact]


async def test_an_unknown_contact_is_a_404_page(owner: Browser) -> None:
    """Editing or removing a contact the partner does not have: the not-found page."""
    assert (await owner.get(f"{CONTACTS}/con_unknown/edit")).status == 404
    token = await owner.csrf_of(CONTACTS)
    removed = await owner.post(f"{CONTACTS}/con_unknown/remove", {"csrf_token": token})
    assert removed.status == 404


async def test_the_owner_creates_a_user_with_a_role(
    owner: Browser, browser_factory: Callable[[], Awaitable[Browser]], world: DashboardWorld
) -> None:
    """The list shows each user's role; a created user shows there and can log in."""
    listing = await owner.get(USERS)
    assert listing.status == 200
    assert OWNER_EMAIL in listing.text
    assert VIEWER_EMAIL in listing.text
    new = {"name": "Dev Eloper", "email": "dev@partner.example.org", "role": "developer"}
    created = await _send(owner, USERS, USERS, {**new, "password": "a long enough secret"})
    assert (created.status, created.location) == (303, f"{USERS}?done=user-created")
    page = await owner.get(created.location)
    assert "dev@partner.example.org" in page.text
    assert "The user was created." in page.text
    assert (await _users(world))["dev@partner.example.org"] == "developer"
    developer = await browser_factory()
    assert (await developer.log_in(new["email"], "a long enough secret")).status == 303


async def test_refused_user_forms_change_nothing(
    owner: Browser, viewer: Browser, world: DashboardWorld
) -> None:
    """A short password and a taken email show accounts' rules and refusal on the form (never
    the password); a viewer and a form without the token get 403 pages."""
    before = await _users(world)
    new = {"name": "Dev", "email": "dev@partner.example.org", "role": "admin"}
    short = await _send(owner, USERS, USERS, {**new, "password": "short-pw"})
    assert short.status == 422
    assert "A password has 12 to 128 characters." in short.text
    assert "short-pw" not in short.text
    assert 'value="dev@partner.example.org"' in short.text
    taken = await _send(owner, USERS, USERS, {**new, "email": VIEWER_EMAIL, "password": "x" * 12})
    assert taken.status == 409
    assert "A user with this email address exists." in taken.text
    bad_email = await _send(owner, USERS, USERS, {**new, "email": "nope", "password": "x" * 12})
    assert bad_email.status == 422
    assert 'data-field="email"' in bad_email.text
    as_viewer = await _send(viewer, USERS, USERS, {**new, "password": "x" * 12})
    assert as_viewer.status == 403
    forged = await owner.post(USERS, {**new, "password": "x" * 12, "csrf_token": "f" * 64})
    assert forged.status == 403
    assert await _users(world) == before


async def test_an_admin_may_not_grant_the_owner_role(
    browser_factory: Callable[[], Awaitable[Browser]], world: DashboardWorld
) -> None:
    """Accounts refuses an admin who gives the owner role: its reason on the 403 page, no user
    made; the same admin creates a developer."""
    admin_email = "adam.admin@partner.example.org"
    admin = CreateUser(
        actor=OPS,
        partner_id=world.partner.id,
        name="Adam Admin",
        email=admin_email,
        role=Role.ADMIN,
        password=PASSWORD,
    )
    await world.ask(admin, UserView)
    browser = await browser_factory()
    assert (await browser.log_in(admin_email)).status == 303
    before = await _users(world)
    new = {"name": "Otto", "email": "otto@partner.example.org", "password": "x" * 12}
    refused = await _send(browser, USERS, USERS, {**new, "role": "owner"})
    assert refused.status == 403
    assert "may not give the `owner` role" in refused.text
    assert await _users(world) == before
    created = await _send(browser, USERS, USERS, {**new, "role": "developer"})
    assert created.status == 303
    assert (await _users(world))["otto@partner.example.org"] == "developer"
