"""The partner's dashboard users with their roles, and creating one. Accounts decides who may
create users and grant which role, and holds the password rules; the form shows its refusals.

Accounts has no query to change a user's role or remove a user, so neither page offers it."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from contracts.accounts import PARTNER_ROLES, Role
from contracts.dashboard import CreateUser, ListUsers, UserList, UserView
from gateway.dashboard import csrf
from gateway.dashboard.forms import Form, text
from gateway.dashboard.people_forms import field_errors, form_refusal, notice_of, with_notice
from gateway.dashboard.rendering import partner_of, redirect, render, viewer_of
from gateway.dashboard.state import DASHBOARD
from servicekit.errors import RemoteCallError

USERS_PATH = "/dashboard/users"
ROLES = [role for role in Role if role in PARTNER_ROLES]
SHOWN_AGAIN = ("name", "email", "role")
"""The fields a refused form shows again: never the password."""


async def list_users(request: web.Request) -> web.StreamResponse:
    """The partner's users and their roles, and the form to create one."""
    return await _list_page(request, {}, {}, 200)


async def create_user(request: web.Request) -> web.StreamResponse:
    """Create a user with a role and a first password; the list with a notice, or the form
    again with the errors (the password is never sent back)."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    gate = request.config_dict[DASHBOARD].gate
    try:
        command = CreateUser.model_validate(
            {
                "actor": viewer.actor,
                "partner_id": partner_of(viewer),
                "name": text(form, "name"),
                "email": text(form, "email").strip(),
                "role": text(form, "role"),
                "password": text(form, "password"),
            }
        )
    except ValidationError as invalid:
        return await _list_page(request, _submitted(form), field_errors(invalid), 422)
    try:
        await gate.bus.request(command, to="accounts", reply=UserView, timeout=gate.timeout)
    except RemoteCallError as refused:
        errors, status = form_refusal(refused)
        return await _list_page(request, _submitted(form), errors, status)
    return redirect(with_notice(USERS_PATH, "user-created"))


def _submitted(form: Form) -> dict[str, str]:
    return {name: text(form, name) for name in SHOWN_AGAIN}


async def _list_page(
    request: web.Request, values: dict[str, str], errors: dict[str, str], status: int
) -> web.Response:
    viewer = viewer_of(request)
    gate = request.config_dict[DASHBOARD].gate
    query = ListUsers(actor=viewer.actor, partner_id=partner_of(viewer))
    users = await gate.bus.request(query, to="accounts", reply=UserList, timeout=gate.timeout)
    context = {
        "users": users.data,
        "roles": ROLES,
        "values": values or {"role": Role.VIEWER.value},
        "errors": errors,
        "notice": notice_of(request) if status == 200 else None,
    }
    return render(request, "users.html", context, status)


def add_routes(routes: web.UrlDispatcher) -> None:
    """The user pages' routes."""
    routes.add_get("/users", list_users)
    routes.add_post("/users", create_user)
