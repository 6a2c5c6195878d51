"""Composition root of the logs service."""

from __future__ import annotations

from aiohttp import web

from contracts.gateway import ApiRequestLogged
from logs import store
from logs.handlers import LogsHandlers
from logs.inventory import INVENTORY
from logs.privacy import LogsPrivacy
from logs.settings import LogsSettings
from servicekit.service import Service

NAME = "logs"


def create_service(settings: LogsSettings) -> Service:
    """Wire the logs service."""
    service = Service.create(NAME, settings)
    handlers = LogsHandlers(service.db)
    service.startup.append(lambda: store.create_indexes(service.db))
    service.router.on(ApiRequestLogged, handlers.api_request_logged)
    service.join_privacy(INVENTORY, LogsPrivacy(service.db))
    return service


def create_app(settings: LogsSettings) -> web.Application:
    """The logs service's aiohttp app (ops endpoints only)."""
    return create_service(settings).http_app()
