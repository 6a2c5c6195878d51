"""The partner's contact people: the list, adding one, rectifying one (the person's right to
rectification, privacy policy section 7) and removing one after a confirmation. Accounts
checks the permissions (`people:read`, `people:manage`) and records every rectification."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import ValidationError

from contracts.base import Query, Reply
from contracts.identity import (
    AddContact,
    ContactList,
    ContactRemoved,
    ContactRole,
    ContactView,
    ListContacts,
    RemoveContact,
    UpdateContact,
)
from gateway.dashboard import csrf
from gateway.dashboard.forms import Form, text
from gateway.dashboard.people_forms import (
    field_errors,
    form_refusal,
    notice_of,
    optional,
    with_notice,
)
from gateway.dashboard.rendering import PageError, partner_of, redirect, render, viewer_of
from gateway.dashboard.state import DASHBOARD, Viewer
from servicekit.errors import RemoteCallError

CONTACTS_PATH = "/dashboard/contacts"
FIELDS = ("name", "email", "phone", "role")
ROLES = list(ContactRole)
R = TypeVar("R", bound=Reply)


async def list_contacts(request: web.Request) -> web.StreamResponse:
    """The contact people, oldest first, and the form to add one."""
    return await _list_page(request, {}, {}, 200)


async def add_contact(request: web.Request) -> web.StreamResponse:
    """Add a contact person; the list with a notice, or the form again with the errors."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    try:
        command = AddContact.model_validate(_fields(viewer, form))
    except ValidationError as invalid:
        return await _list_page(request, _submitted(form), field_errors(invalid), 422)
    try:
        await _ask(request, command, ContactView)
    except RemoteCallError as refused:
        errors, status = form_refusal(refused)
        return await _list_page(request, _submitted(form), errors, status)
    return redirect(with_notice(CONTACTS_PATH, "contact-added"))


async def edit_form(request: web.Request) -> web.StreamResponse:
    """The contact's details in a form, to correct them."""
    contact = await _contact(request, viewer_of(request), _contact_id(request))
    values = {name: str(getattr(contact, name) or "") for name in FIELDS}
    return _edit_page(request, contact.id, values, {}, 200)


async def update_contact(request: web.Request) -> web.StreamResponse:
    """Rectify the contact: every field given replaces the one there is; an empty phone
    leaves the phone as it is (the contract has no "remove the phone")."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    contact_id = _contact_id(request)
    try:
        command = UpdateContact.model_validate({**_fields(viewer, form), "contact_id": contact_id})
    except ValidationError as invalid:
        return _edit_page(request, contact_id, _submitted(form), field_errors(invalid), 422)
    try:
        await _ask(request, command, ContactView)
    except RemoteCallError as refused:
        errors, status = form_refusal(refused)
        return _edit_page(request, contact_id, _submitted(form), errors, status)
    return redirect(with_notice(CONTACTS_PATH, "contact-updated"))


async def confirm_remove(request: web.Request) -> web.StreamResponse:
    """Ask before removing: the contact's data becomes unreadable everywhere."""
    contact = await _contact(request, viewer_of(request), _contact_id(request))
    return render(request, "contact_remove.html", {"contact": contact})


async def remove_contact(request: web.Request) -> web.StreamResponse:
    """Remove the contact (accounts shreds their key); the list with a notice."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    command = RemoveContact(
        actor=viewer.actor, partner_id=partner_of(viewer), contact_id=_contact_id(request)
    )
    await _ask(request, command, ContactRemoved)
    return redirect(with_notice(CONTACTS_PATH, "contact-removed"))


async def _list_page(
    request: web.Request, values: dict[str, str], errors: dict[str, str], status: int
) -> web.Response:
    viewer = viewer_of(request)
    query = ListContacts(actor=viewer.actor, partner_id=partner_of(viewer))
    contacts = await _ask(request, query, ContactList)
    context = {
        "contacts": contacts.data,
        "roles": ROLES,
        "values": values or {"role": ContactRole.OTHER.value},
        "errors": errors,
        "notice": notice_of(request) if status == 200 else None,
    }
    return render(request, "contacts.html", context, status)


def _edit_page(
    request: web.Request,
    contact_id: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int,
) -> web.Response:
    context = {"contact_id": contact_id, "roles": ROLES, "values": values, "errors": errors}
    return render(request, "contact_edit.html", context, status)


async def _contact(request: web.Request, viewer: Viewer, contact_id: str) -> ContactView:
    """One contact of the viewer's partner (accounts lists them; there is no single read)."""
    query = ListContacts(actor=viewer.actor, partner_id=partner_of(viewer))
    for contact in (await _ask(request, query, ContactList)).data:
        if contact.id == contact_id:
            return contact
    raise PageError(404, "Not found", "No such contact.")


def _fields(viewer: Viewer, form: Form) -> dict[str, Any]:
    return {
        "actor": viewer.actor,
        "partner_id": partner_of(viewer),
        "name": text(form, "name"),
        "email": text(form, "email").strip(),
        "phone": optional(form, "phone"),
        "role": text(form, "role"),
    }


def _submitted(form: Form) -> dict[str, str]:
    return {name: text(form, name) for name in FIELDS}


def _contact_id(request: web.Request) -> str:
    contact_id = request.match_info["contact_id"]
    if not 0 < len(contact_id) <= 64:
        raise PageError(404, "Not found", "No such contact.")
    return contact_id


async def _ask(request: web.Request, query: Query, reply: type[R]) -> R:
    gate = request.config_dict[DASHBOARD].gate
    return await gate.bus.request(query, to="accounts", reply=reply, timeout=gate.timeout)


def add_routes(routes: web.UrlDispatcher) -> None:
    """The contact pages' routes."""
    routes.add_get("/contacts", list_contacts)
    routes.add_post("/contacts", add_contact)
    routes.add_get("/contacts/{contact_id}/edit", edit_form)
    routes.add_post("/contacts/{contact_id}/edit", update_contact)
    routes.add_get("/contacts/{contact_id}/remove", confirm_remove)
    routes.add_post("/contacts/{contact_id}/remove", remove_contact)
