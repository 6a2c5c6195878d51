"""Composition root of the privacy service."""

from __future__ import annotations

from aiohttp import web

from contracts.privacy import (
    GetPrivacyRequest,
    InventoryAnnounced,
    InventoryRequested,
    ListPrivacyRequests,
    PrivacyTaskCompleted,
    SubmitPrivacyRequest,
)
from privacy import audit, http, pages, policy, receipts, store
from privacy.handlers import PrivacyHandlers
from privacy.settings import PrivacySettings
from servicekit.service import Service

NAME = "privacy"


def create_service(settings: PrivacySettings) -> Service:
    """Wire the privacy service: store, handlers, subscriptions."""
    service = Service.create(NAME, settings)
    handlers = PrivacyHandlers(db=service.db, bus=service.bus)
    service.outbox.collections.append(store.REQUESTS)
    service.startup.append(lambda: store.create_indexes(service.db))
    service.startup.append(lambda: audit.create_indexes(service.db))
    service.startup.append(lambda: receipts.create_indexes(service.db))
    service.router.answer(SubmitPrivacyRequest, handlers.submit)
    service.router.answer(GetPrivacyRequest, handlers.get)
    service.router.answer(ListPrivacyRequests, handlers.list)
    service.router.on(PrivacyTaskCompleted, handlers.task_completed)
    service.router.on(InventoryAnnounced, handlers.inventory_announced)
    policy.register(service)

    async def request_inventories() -> None:
        await service.bus.publish(InventoryRequested())

    service.after_start.append(request_inventories)
    return service


def create_app(settings: PrivacySettings) -> web.Application:
    """The privacy service's aiohttp app."""
    service = create_service(settings)
    app = service.http_app()
    http.add_routes(app, service.db)
    pages.add_routes(app, service.db)
    return app
