"""Rectifying the partner's business details: exactly the fields accounts' `UpdatePartner`
lets change (not the currency, status or dates). A field left empty that the contract lets be
absent stays as it is; accounts records which fields changed, never the values."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from contracts.identity import GetPartner, PartnerView, UpdatePartner
from gateway.dashboard import csrf
from gateway.dashboard.forms import Form, text
from gateway.dashboard.people_forms import field_errors, form_refusal, optional, with_notice
from gateway.dashboard.rendering import partner_of, redirect, render, viewer_of
from gateway.dashboard.state import DASHBOARD
from servicekit.errors import RemoteCallError

ACCOUNT_PATH = "/dashboard/account"
EDIT_PATH = "/dashboard/account/edit"
FIELDS = ("business_name", "registration_number", "tax_id", "phone")
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "region", "country")


async def edit_form(request: web.Request) -> web.StreamResponse:
    """The form, filled in with the partner's details as they are."""
    viewer = viewer_of(request)
    gate = request.config_dict[DASHBOARD].gate
    query = GetPartner(actor=viewer.actor, partner_id=partner_of(viewer))
    partner = await gate.bus.request(query, to="accounts", reply=PartnerView, timeout=gate.timeout)
    return _form_page(request, _values_of(partner), {}, 200)


async def save(request: web.Request) -> web.StreamResponse:
    """Rectify the details; back to the account page with a notice, or the form with errors."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    gate = request.config_dict[DASHBOARD].gate
    try:
        update = UpdatePartner.model_validate(
            {"actor": viewer.actor, "partner_id": partner_of(viewer), **_changes(form)}
        )
    except ValidationError as invalid:
        return _form_page(request, _submitted(form), field_errors(invalid), 422)
    try:
        await gate.bus.request(update, to="accounts", reply=PartnerView, timeout=gate.timeout)
    except RemoteCallError as refused:
        errors, status = form_refusal(refused)
        return _form_page(request, _submitted(form), errors, status)
    return redirect(with_notice(ACCOUNT_PATH, "account-updated"))


def _changes(form: Form) -> dict[str, Any]:
    """The contract's fields from the form: an empty optional field is left out (unchanged);
    an address all empty is left out, otherwise it replaces the one there is."""
    changes: dict[str, Any] = {
        "business_name": text(form, "business_name"),
        "registration_number": text(form, "registration_number"),
        "tax_id": optional(form, "tax_id"),
        "phone": optional(form, "phone"),
    }
    address = {name: optional(form, f"address.{name}") for name in ADDRESS_FIELDS}
    if any(address.values()):
        changes["address"] = {name: value for name, value in address.items() if value}
    return changes


def _values_of(partner: PartnerView) -> dict[str, str]:
    values = {name: getattr(partner, name) or "" for name in FIELDS}
    for name in ADDRESS_FIELDS:
        value = getattr(partner.address, name) if partner.address else None
        values[f"address.{name}"] = value or ""
    return values


def _submitted(form: Form) -> dict[str, str]:
    names = [*FIELDS, *(f"address.{name}" for name in ADDRESS_FIELDS)]
    return {name: text(form, name) for name in names}


def _form_page(
    request: web.Request, values: dict[str, str], errors: dict[str, str], status: int
) -> web.Response:
    context = {"values": values, "errors": errors, "address_fields": ADDRESS_FIELDS}
    return render(request, "account_edit.html", context, status)


def add_routes(routes: web.UrlDispatcher) -> None:
    """The account form's routes (the account page itself is `pages.account`)."""
    routes.add_get("/account/edit", edit_form)
    routes.add_post("/account/edit", save)
