"""Wiring of orders and top-ups into the provisioning service."""

from __future__ import annotations

from typing import Any

from contracts.ledger import (
    BalanceDebited,
    BalanceDebitRefused,
    BalanceRefunded,
    BalanceRefundRefused,
)
from contracts.orders import CreateOrder, CreateTopup, GetOrder, GetTopup, ListOrders, ListTopups
from provisioning import esim_store, purchase_store
from provisioning.provider import provider_from_settings
from provisioning.purchase_flow import PurchaseFlow
from provisioning.purchases import Purchases
from provisioning.settings import ProvisioningSettings
from provisioning.store import ESIMS, ORDERS
from provisioning.webhooks import Webhooks, unconfigured
from servicekit.service import Service
from servicekit.vault import Vault

QUERIES: tuple[type[Any], ...] = (
    CreateOrder,
    GetOrder,
    ListOrders,
    CreateTopup,
    GetTopup,
    ListTopups,
)


def register(service: Service, settings: ProvisioningSettings, webhooks: Webhooks | None) -> None:
    """Answer the order and top-up queries and run their flow.

    Orders need MASTER_KEYS and BLIND_INDEX_KEY (end users' data and activation codes are
    sealed): without them the queries answer `unavailable` and no flow runs.
    """
    encryption = settings.encryption()
    if encryption is None:
        for query in QUERIES:
            service.router.answer(query, unconfigured)
        return
    vault = Vault.from_settings(service.db, encryption)
    provider = provider_from_settings(settings)
    purchases = Purchases(service.db, service.bus, vault)
    flow = PurchaseFlow(
        db=service.db,
        bus=service.bus,
        vault=vault,
        provider=provider,
        webhooks=webhooks,
    )
    for collection in (ORDERS, ESIMS):
        if collection not in service.outbox.collections:
            service.outbox.collections.append(collection)
    service.startup.append(lambda: purchase_store.create_indexes(service.db))
    service.startup.append(lambda: esim_store.create_indexes(service.db))
    service.shutdown.append(provider.close)
    handlers: tuple[Any, ...] = (
        purchases.create_order,
        purchases.get_order,
        purchases.list_orders,
        purchases.create_topup,
        purchases.get_topup,
        purchases.list_topups,
    )
    for query, handler in zip(QUERIES, handlers, strict=True):
        service.router.answer(query, handler)
    service.router.on(BalanceDebited, flow.on_debited)
    service.router.on(BalanceDebitRefused, flow.on_debit_refused)
    service.router.on(BalanceRefunded, flow.on_refunded)
    service.router.on(BalanceRefundRefused, flow.on_refund_refused)
