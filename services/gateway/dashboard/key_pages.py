"""API keys: the list, creating one (the key shown this once, on the answer to the form) and
revoking one after a confirmation. Accounts checks the user's permissions and grants."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from contracts.accounts import Scope
from contracts.apikeys import (
    ApiKeyPage,
    ApiKeyView,
    CreateApiKey,
    ListApiKeys,
    NewApiKey,
    RevokeApiKey,
)
from gateway.dashboard import csrf
from gateway.dashboard.forms import text, texts
from gateway.dashboard.rendering import PageError, partner_of, redirect, render, viewer_of
from gateway.dashboard.state import DASHBOARD
from servicekit.clock import utcnow

KEYS_PATH = "/dashboard/api-keys"
MODES = ("test", "live")
PAGE_SIZE = 50


async def list_keys(request: web.Request) -> web.StreamResponse:
    """The partner's working keys, newest first, and the form to create one."""
    return await _list_page(request, error=None, status=200)


async def _list_page(request: web.Request, error: str | None, status: int) -> web.Response:
    viewer = viewer_of(request)
    gate = request.config_dict[DASHBOARD].gate
    cursor = request.query.get("cursor") or None
    try:
        query = ListApiKeys(
            actor=viewer.actor, partner_id=partner_of(viewer), limit=PAGE_SIZE, cursor=cursor
        )
    except ValidationError:
        raise PageError(404, "Not found", "No such page of keys.") from None
    page = await gate.bus.request(query, to="accounts", reply=ApiKeyPage, timeout=gate.timeout)
    context = {"page": page, "scopes": list(Scope), "modes": MODES, "error": error}
    return render(request, "keys.html", context, status)


async def create_key(request: web.Request) -> web.StreamResponse:
    """Create a key; the answer shows it this once (never stored, never shown again)."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    gate = request.config_dict[DASHBOARD].gate
    try:
        command = CreateApiKey.model_validate(
            {
                "actor": viewer.actor,
                "partner_id": partner_of(viewer),
                "name": text(form, "name"),
                "scopes": texts(form, "scopes"),
                "mode": text(form, "mode", "test"),
            }
        )
    except ValidationError:
        problem = "Give the key a name (up to 100 characters), at least one scope and a mode."
        return await _list_page(request, error=problem, status=422)
    created = await gate.bus.request(command, to="accounts", reply=NewApiKey, timeout=gate.timeout)
    context = {"key": created.key, "api_key": created.api_key.get_secret_value()}
    return render(request, "key_created.html", context, 201)


def _key_id(request: web.Request) -> str:
    key_id = request.match_info["key_id"]
    if not 0 < len(key_id) <= 64:
        raise PageError(404, "Not found", "No such API key.")
    return key_id


async def confirm_revoke(request: web.Request) -> web.StreamResponse:
    """Ask before revoking: the key stops working at once."""
    viewer_of(request)
    return render(request, "key_revoke.html", {"key_id": _key_id(request)})


async def revoke_key(request: web.Request) -> web.StreamResponse:
    """Revoke the key; this replica stops accepting it before the answer."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    dashboard = request.config_dict[DASHBOARD]
    gate = dashboard.gate
    command = RevokeApiKey(
        actor=viewer.actor, partner_id=partner_of(viewer), key_id=_key_id(request)
    )
    view = await gate.bus.request(command, to="accounts", reply=ApiKeyView, timeout=gate.timeout)
    dashboard.verifier.revoked(view.id, view.revoked_at or utcnow())
    return redirect(KEYS_PATH)
