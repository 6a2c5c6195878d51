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
from servicekit.vault import Vault

NAME = "accounts"


def create_service(settings: AccountsSettings) -> Service:
    """Wire the accounts service: one vault for every personal field it keeps."""
    service = Service.create(NAME, settings)
    vault = Vault.from_settings(service.db, settings)
    service.startup.append(lambda: store.create_indexes(service.db))
    service.startup.append(vault.keyring.create_indexes)
    handlers = AccountsHandlers(db=service.db, pepper=settings.api_key_pepper.get_secret_value())
    service.router.answer(VerifyApiKey, handlers.verify_api_key)
    # Each part of the service registers its handlers below, one line each.
    service.join_privacy(INVENTORY, AccountsPrivacy(service.db))
    return service


def create_app(settings: AccountsSettings) -> web.Application:
    """The accounts service's aiohttp app (ops endpoints only)."""
    return create_service(settings).http_app()
