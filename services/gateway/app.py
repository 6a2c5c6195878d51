"""Composition root of the gateway: the partners' API over the bus."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from contracts.apikeys import ApiKeyRevoked
from contracts.gateway import RateLimitSpent
from contracts.identity import PartnerClosed
from gateway import api, dashboard
from gateway.catalogue_handlers import CatalogueHandlers
from gateway.docs_page import render_docs
from gateway.export_handlers import add_download_route, download_openapi
from gateway.handlers import GatewayHandlers
from gateway.openapi import build_openapi
from gateway.order_handlers import OrderHandlers
from gateway.outcomes import OutcomeWaiter
from gateway.principals import PrincipalCache, Verifier
from gateway.problems import problems
from gateway.ratelimit import RateLimiter
from gateway.requestlog import RequestLog
from gateway.routes import endpoints
from gateway.settings import GatewaySettings
from servicekit.service import Service

NAME = "gateway"
API_VERSION = "1.0.0"
DOCS_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
"""The reference page needs its inline style sheet and nothing else: no script, no fetch."""


def create_app(settings: GatewaySettings) -> web.Application:
    """The gateway app: API routes, OpenAPI document, request logging, problem errors."""
    service = Service.create(NAME, settings, stateless=True)
    request_log = RequestLog(service.bus, settings)
    service.background.append(request_log.ship)
    app = service.http_app(
        middlewares=[request_log.middleware, problems], client_max_size=settings.max_body_bytes
    )
    timeout = settings.query_timeout_seconds
    cache = PrincipalCache(ttl=timedelta(seconds=settings.principal_cache_seconds))
    verifier = Verifier(service.bus, timeout, cache)
    service.router.on_broadcast(ApiKeyRevoked, verifier.on_revoked)
    service.router.on_broadcast(PartnerClosed, verifier.on_partner_closed)
    service.router.on_broadcast_gap(cache.clear)
    waiter = OutcomeWaiter()
    waiter.listen(service.router)
    orders = OrderHandlers(service.bus, timeout, waiter, settings.order_sync_wait_seconds)
    catalogue = CatalogueHandlers(service.bus, timeout, settings.catalogue_cache_seconds)
    api_endpoints = endpoints(GatewayHandlers(service.bus, timeout, verifier), orders, catalogue)
    limiter = RateLimiter(
        per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
    )
    service.router.on_broadcast(RateLimitSpent, limiter.on_spent)
    service.background.append(lambda: limiter.share(service.bus, settings.rate_limit_share_seconds))
    api.mount(app, api_endpoints, verifier, limiter)
    add_download_route(app, service.bus, timeout)
    document = build_openapi(api_endpoints, API_VERSION)
    document["paths"].update(download_openapi())

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", openapi)
    reference = render_docs(document)

    async def docs(_request: web.Request) -> web.Response:
        return web.Response(text=reference, content_type="text/html", headers=DOCS_HEADERS)

    app.router.add_get("/docs", docs)
    dashboard.register(app, service, settings, verifier)
    app.on_response_prepare.append(_hide_server_software)
    return app


async def _hide_server_software(_request: web.Request, response: web.StreamResponse) -> None:
    """Name the product, not the Python and aiohttp versions it runs on."""
    response.headers["Server"] = NAME
