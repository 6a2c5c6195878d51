"""The overview and the account page: the partner's details as accounts shows them to the
signed-in user (accounts decides what the user's role may read)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from contracts.identity import GetPartner, PartnerView
from gateway.dashboard.people_forms import notice_of
from gateway.dashboard.rendering import partner_of, render, viewer_of
from gateway.dashboard.state import DASHBOARD, Viewer

STYLE_SHEET = "dashboard.css"


async def _partner(request: web.Request, viewer: Viewer) -> PartnerView:
    """The viewer's partner, asked as the viewer."""
    gate = request.config_dict[DASHBOARD].gate
    query = GetPartner(actor=viewer.actor, partner_id=partner_of(viewer))
    return await gate.bus.request(query, to="accounts", reply=PartnerView, timeout=gate.timeout)


async def overview(request: web.Request) -> web.StreamResponse:
    """Who is signed in, for which partner, and where to go from here."""
    viewer = viewer_of(request)
    partner = await _partner(request, viewer) if viewer.actor.partner_id else None
    return render(request, "overview.html", {"partner": partner, "actor": viewer.actor})


async def account(request: web.Request) -> web.StreamResponse:
    """The partner's business details."""
    viewer = viewer_of(request)
    partner = await _partner(request, viewer)
    return render(request, "account.html", {"partner": partner, "notice": notice_of(request)})


def style_sheet_handler(css: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Serve the dashboard's one style sheet (CSP allows styles from the dashboard only)."""

    async def style_sheet(_request: web.Request) -> web.StreamResponse:
        return web.Response(text=css, content_type="text/css")

    return style_sheet
