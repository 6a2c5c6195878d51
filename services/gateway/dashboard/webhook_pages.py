"""Webhook endpoints (list, add with the signing secret shown once, delete after a
confirmation) and the delivery log, asked of provisioning as the signed-in user."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from contracts.accounts import Scope
from contracts.webhooks import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    ListWebhookDeliveries,
    ListWebhookEndpoints,
    NewWebhookSecret,
    WebhookDeliveryPage,
    WebhookEndpointPage,
    WebhookEndpointView,
    WebhookEventType,
)
from gateway.dashboard import csrf
from gateway.dashboard.forms import text, texts
from gateway.dashboard.lookups import PAGE_SIZE, ask, built, cursor_of
from gateway.dashboard.rendering import PageError, partner_of, redirect, render, viewer_of
from gateway.dashboard.role_access import granted
from gateway.dashboard.state import Viewer
from servicekit.errors import RemoteCallError

TO = "provisioning"
ENDPOINTS_PATH = "/dashboard/webhooks"
MODES = ("test", "live")


def may_manage(viewer: Viewer) -> bool:
    """Whether the viewer's role grants `webhooks:manage` (provisioning checks it too)."""
    return Scope.WEBHOOKS_MANAGE in granted(viewer)


def _require_manager(viewer: Viewer) -> None:
    if not may_manage(viewer):
        raise PageError(403, "Forbidden", "Your role may not change webhook endpoints.")


async def list_endpoints(request: web.Request) -> web.StreamResponse:
    """The partner's endpoints and the form to add one."""
    return await _list_page(request, error=None, status=200)


async def _list_page(request: web.Request, error: str | None, status: int) -> web.Response:
    viewer = viewer_of(request)
    query = ListWebhookEndpoints(actor=viewer.actor, partner_id=partner_of(viewer))
    page = await ask(request, query, WebhookEndpointPage, TO)
    context = {
        "page": page,
        "event_types": list(WebhookEventType),
        "modes": MODES,
        "may_manage": may_manage(viewer),
        "error": error,
    }
    return render(request, "webhooks.html", context, status)


async def create_endpoint(request: web.Request) -> web.StreamResponse:
    """Add an endpoint; the answer shows its signing secret this once."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    _require_manager(viewer)
    try:
        command = CreateWebhookEndpoint.model_validate(
            {
                "actor": viewer.actor,
                "partner_id": partner_of(viewer),
                "url": text(form, "url").strip(),
                "event_types": texts(form, "event_types"),
                "mode": text(form, "mode", "test"),
            }
        )
    except ValidationError:
        problem = "Give an http(s) URL (https for live mode), at least one event type and a mode."
        return await _list_page(request, error=problem, status=422)
    try:
        created = await ask(request, command, NewWebhookSecret, TO)
    except RemoteCallError as refusal:
        if refusal.code != "invalid_request":
            raise
        return await _list_page(request, error=f"Refused: {refusal.message}.", status=422)
    context = {"endpoint": created.endpoint, "secret": created.secret.get_secret_value()}
    return render(request, "webhook_created.html", context, 201)


def _endpoint_id(request: web.Request) -> str:
    endpoint_id = request.match_info["endpoint_id"]
    if not 0 < len(endpoint_id) <= 64:
        raise PageError(404, "Not found", "No such webhook endpoint.")
    return endpoint_id


async def confirm_delete(request: web.Request) -> web.StreamResponse:
    """Ask before deleting: nothing is sent to the endpoint any more."""
    _require_manager(viewer_of(request))
    return render(request, "webhook_delete.html", {"endpoint_id": _endpoint_id(request)})


async def delete_endpoint(request: web.Request) -> web.StreamResponse:
    """Delete the endpoint, then back to the list."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    _require_manager(viewer)
    command = DeleteWebhookEndpoint(
        actor=viewer.actor, partner_id=partner_of(viewer), endpoint_id=_endpoint_id(request)
    )
    await ask(request, command, WebhookEndpointView, TO)
    return redirect(ENDPOINTS_PATH)


async def list_deliveries(request: web.Request) -> web.StreamResponse:
    """A page of the delivery log, newest first, with status and attempts."""
    viewer = viewer_of(request)
    query = built(
        lambda: ListWebhookDeliveries(
            actor=viewer.actor,
            partner_id=partner_of(viewer),
            limit=PAGE_SIZE,
            cursor=cursor_of(request),
        ),
        "page of deliveries",
    )
    page = await ask(request, query, WebhookDeliveryPage, TO)
    return render(request, "webhook_deliveries.html", {"page": page})


def add_routes(routes: web.UrlDispatcher) -> None:
    """The webhook pages' routes."""
    routes.add_get("/webhooks", list_endpoints)
    routes.add_post("/webhooks", create_endpoint)
    routes.add_get("/webhooks/{endpoint_id}/delete", confirm_delete)
    routes.add_post("/webhooks/{endpoint_id}/delete", delete_endpoint)
    routes.add_get("/webhook-deliveries", list_deliveries)
