"""Composition root of the accounts service."""

from __future__ import annotations

from aiohttp import web

from accounts import (
    billing_handlers,
    keys,
    own_user,
    people_handlers,
    policy_notices,
    retention,
    store,
)
from accounts.inventory import INVENTORY
from accounts.privacy import AccountsPrivacy
from accounts.settings import AccountsSettings
from servicekit.service import Service
from servicekit.vault import Vault

NAME = "accounts"


def create_service(settings: AccountsSettings) -> Service:
    """Wire the accounts service: one vault for every personal field it keeps."""
    service = Service.create(NAME, settings)
    vault = Vault.from_settings(service.db, settings)
    service.startup.append(lambda: store.create_indexes(service.db))
    service.startup.append(vault.keyring.create_indexes)
    ledger = billing_handlers.make_ledger(service, settings)
    retention.register(service, settings, vault)
    people_handlers.register(service, settings, vault, open_balance=ledger.open_balance)
    keys.register(service, settings)
    billing_handlers.register(service, ledger, vault)
    policy_notices.register(service, vault)
    own_user.register(service, vault)
    service.join_privacy(
        INVENTORY,
        AccountsPrivacy(service.db, vault),
        identifiers=["partner_id", "user_id", "email", "phone", "ip"],
    )
    return service


def create_app(settings: AccountsSettings) -> web.Application:
    """The accounts service's aiohttp app (ops endpoints only)."""
    return create_service(settings).http_app()
