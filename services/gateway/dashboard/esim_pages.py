"""eSIMs: a paged list, one eSIM with its status, usage and QR code, and the QR code's image.

The activation code is a credential: provisioning gives it to the owning partner only, as it
does for the API's `GET /v1/esims/{iccid}`; the image is drawn in memory per request with the
API's own function, never logged, stored or cached (the guard sends `no-store`).
"""

from __future__ import annotations

from aiohttp import web

from contracts.orders import EsimPage, EsimView, GetEsim, ListEsims
from gateway.dashboard.lookups import PAGE_SIZE, ask, built, cursor_of
from gateway.dashboard.rendering import PageError, partner_of, render, viewer_of
from gateway.esim_handlers import PNG, qr_image

TO = "provisioning"


async def list_esims(request: web.Request) -> web.StreamResponse:
    """A page of the partner's eSIMs, newest first (listings carry no activation codes)."""
    viewer = viewer_of(request)
    query = built(
        lambda: ListEsims(
            actor=viewer.actor,
            partner_id=partner_of(viewer),
            limit=PAGE_SIZE,
            cursor=cursor_of(request),
        ),
        "page of eSIMs",
    )
    page = await ask(request, query, EsimPage, TO)
    return render(request, "esims.html", {"page": page})


async def _esim(request: web.Request) -> EsimView:
    viewer = viewer_of(request)
    iccid = request.match_info["iccid"]
    query = built(
        lambda: GetEsim(actor=viewer.actor, partner_id=partner_of(viewer), iccid=iccid), "eSIM"
    )
    return await ask(request, query, EsimView, TO)


async def show_esim(request: web.Request) -> web.StreamResponse:
    """One eSIM: status, usage, validity, and its QR code to install it."""
    esim = await _esim(request)
    return render(request, "esim.html", {"esim": esim})


async def qr_code(request: web.Request) -> web.StreamResponse:
    """The eSIM's activation code as a PNG QR code (only with a live session)."""
    esim = await _esim(request)
    if esim.activation_code is None:
        raise PageError(404, "Not found", "This eSIM has no activation code any more.")
    return web.Response(body=qr_image(esim.activation_code, "png"), content_type=PNG)


def add_routes(routes: web.UrlDispatcher) -> None:
    """The eSIM pages' routes."""
    routes.add_get("/esims", list_esims)
    routes.add_get("/esims/{iccid}", show_esim)
    routes.add_get("/esims/{iccid}/qr.png", qr_code)
