"""Composition root of the accounts service."""

from __future__ import annotations

from aiohttp import web

from accounts import store
from accounts.handlers import AccountsHandlers
from accounts.inventory import INVENTORY
from accounts.privacy import AccountsPrivacy
from accounts.settings import AccountsSettings
from contracts.accounts import VerifyApiKey
from servicekit.service import Service

NAME = "accounts"


def create_service(settings: AccountsSettings) -> Service:
    """Wire the accounts service."""
    service = Service.create(NAME, settings)
    handlers = AccountsHandlers(db=service.db, pepper=settings.api_key_pepper.get_secret_value())
    service.startup.append(lambda: store.create_indexes(service.db))
    service.router.answer(VerifyApiKey, handlers.verify_api_key)
    service.join_privacy(INVENTORY, AccountsPrivacy(service.db))
    return service


def create_app(settings: AccountsSettings) -> web.Application:
    """The accounts service's aiohttp app (ops endpoints only)."""
    return create_service(settings).http_app()
