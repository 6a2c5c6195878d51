"""Composition root of the provisioning service."""

from __future__ import annotations

from aiohttp import web

from provisioning import callbacks, catalogue, esims, ordering, retention, store, webhooks
from provisioning.inventory import INVENTORY
from provisioning.privacy import ProvisioningPrivacy
from provisioning.settings import ProvisioningSettings
from servicekit.service import Service

NAME = "provisioning"


def create_service(settings: ProvisioningSettings) -> Service:
    """Wire the provisioning service."""
    service = Service.create(NAME, settings)
    service.startup.append(lambda: store.create_indexes(service.db))
    service.join_privacy(
        INVENTORY,
        ProvisioningPrivacy.from_settings(service.db, settings),
        identifiers=["partner_id", "email", "end_user_ref", "iccid"],
    )
    hooks = webhooks.register(service, settings)
    esims.register(service, settings, hooks)
    ordering.register(service, settings, hooks)
    catalogue.register(service)
    retention.register(service, settings)
    return service


def create_app(settings: ProvisioningSettings) -> web.Application:
    """The provisioning service's aiohttp app (ops endpoints and the provider's callbacks)."""
    service = create_service(settings)
    return callbacks.register(service.http_app(), service, settings)
