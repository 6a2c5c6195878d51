"""The partner dashboard under `/dashboard`: server-rendered pages that work without any
JavaScript, in the gateway process (the only HTTP front door).

Signing in, sessions and permissions are accounts' (asked over the bus as the signed-in
user's actor); the dashboard keeps nothing itself. Only essential cookies (`cookies.py`).
"""

from __future__ import annotations

from aiohttp import web

from gateway.dashboard import (
    account_edit,
    auth_pages,
    balance_pages,
    contact_pages,
    esim_pages,
    key_pages,
    notices,
    ops_activity_pages,
    ops_pages,
    order_pages,
    pages,
    policy_pages,
    privacy_pages,
    usage_pages,
    user_pages,
    webhook_pages,
)
from gateway.dashboard.cookies import CookiePolicy
from gateway.dashboard.guard import guard
from gateway.dashboard.rendering import TEMPLATES_DIR, setup_templates
from gateway.dashboard.sessions import SessionGate
from gateway.dashboard.state import DASHBOARD, Dashboard
from gateway.principals import Verifier
from servicekit.service import Service
from servicekit.settings import ServiceSettings

PREFIX = "/dashboard"


def register(
    app: web.Application, service: Service, settings: ServiceSettings, verifier: Verifier
) -> None:
    """Mount the dashboard on the gateway's app, as a sub-app with its own error pages."""
    dashboard = web.Application(middlewares=[guard])
    dashboard[DASHBOARD] = Dashboard(
        gate=SessionGate(service.bus, settings.query_timeout_seconds),
        cookies=CookiePolicy.from_settings(settings),
        verifier=verifier,
    )
    setup_templates(dashboard)
    _add_routes(dashboard)
    ops_pages.add_routes(dashboard, service.bus, settings)
    ops_activity_pages.add_routes(dashboard, service)
    app.add_subapp(PREFIX, dashboard)
    app.router.add_get(OPS_ENTRY, _to_ops_pages)


OPS_ENTRY = "/ops"
"""The ops dashboard's address; its pages live in the dashboard, where the session cookie goes."""


async def _to_ops_pages(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(f"{PREFIX}/ops")


def _add_routes(dashboard: web.Application) -> None:
    css = (TEMPLATES_DIR / pages.STYLE_SHEET).read_text(encoding="utf-8")
    routes = dashboard.router
    routes.add_get("", pages.overview)
    routes.add_get("/", pages.overview)
    routes.add_get(f"/static/{pages.STYLE_SHEET}", pages.style_sheet_handler(css))
    routes.add_get("/login", auth_pages.login_form)
    routes.add_post("/login", auth_pages.log_in)
    routes.add_post("/logout", auth_pages.log_out)
    routes.add_post("/preferences", auth_pages.save_preferences)
    routes.add_get("/account", pages.account)
    routes.add_get("/api-keys", key_pages.list_keys)
    routes.add_post("/api-keys", key_pages.create_key)
    routes.add_get("/api-keys/{key_id}/revoke", key_pages.confirm_revoke)
    routes.add_post("/api-keys/{key_id}/revoke", key_pages.revoke_key)
    order_pages.add_routes(routes)
    esim_pages.add_routes(routes)
    balance_pages.add_routes(routes)
    webhook_pages.add_routes(routes)
    account_edit.add_routes(routes)
    contact_pages.add_routes(routes)
    user_pages.add_routes(routes)
    privacy_pages.add_routes(routes)
    usage_pages.add_routes(routes)
    policy_pages.add_routes(routes)
    notices.install(dashboard)
