"""Composition root of the provisioning service."""

from __future__ import annotations

from aiohttp import web

from provisioning import store
from provisioning.inventory import INVENTORY
from provisioning.privacy import ProvisioningPrivacy
from provisioning.settings import ProvisioningSettings
from servicekit.service import Service

NAME = "provisioning"


def create_service(settings: ProvisioningSettings) -> Service:
    """Wire the provisioning service."""
    service = Service.create(NAME, settings)
    service.startup.append(lambda: store.create_indexes(service.db))
    service.join_privacy(INVENTORY, ProvisioningPrivacy(service.db))
    return service


def create_app(settings: ProvisioningSettings) -> web.Application:
    """The provisioning service's aiohttp app (ops endpoints only)."""
    return create_service(settings).http_app()
