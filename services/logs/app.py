"""Composition root of the logs service."""

from __future__ import annotations

from aiohttp import web

from contracts.gateway import ApiRequestsLogged
from contracts.logs import TechnicalRecordsShipped
from logs import retention, store
from logs.handlers import LogsHandlers, LogWriter
from logs.inventory import INVENTORY
from logs.privacy import LogsPrivacy
from logs.queries import register as register_queries
from logs.settings import LogsSettings
from servicekit.service import Service
from servicekit.vault import Vault

NAME = "logs"


def create_service(settings: LogsSettings) -> Service:
    """Wire the logs service."""
    encryption = settings.encryption()
    if encryption is None:
        raise RuntimeError("the logs service needs MASTER_KEYS and BLIND_INDEX_KEY")
    service = Service.create(NAME, settings)
    vault = Vault.from_settings(service.db, encryption)
    service.startup.append(vault.keyring.create_indexes)
    service.startup.append(lambda: store.create_indexes(service.db))
    writer = LogWriter(service.db, vault, batch_limit=settings.ingest_batch_limit)
    handlers = LogsHandlers(writer)
    service.router.on(ApiRequestsLogged, handlers.api_requests_logged)
    service.router.on(TechnicalRecordsShipped, handlers.technical_records_shipped)
    register_queries(service, settings.analytics_min_group_size)
    service.join_privacy(
        INVENTORY,
        LogsPrivacy(service.db, vault, service.restrictions),
        identifiers=["partner_id", "user_id", "ip", "email"],
    )
    retention.register(service, settings)
    return service


def create_app(settings: LogsSettings) -> web.Application:
    """The logs service's aiohttp app (ops endpoints only)."""
    return create_service(settings).http_app()
