"""Partner webhooks: endpoints (create, list, get, update, delete, rotate, test-send), the
delivery log (list, replay), and `enqueue_delivery`, which the order flow calls.

Every handler acts for the actor's own partner only; another partner's endpoint or delivery
is as unknown as a missing one. The worker that sends deliveries is in `webhook_delivery`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from contracts.ledger import BalanceLow
from contracts.webhooks import (
    PAYLOAD_MODELS,
    BalanceLowPayload,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    GetWebhookEndpoint,
    ListWebhookDeliveries,
    ListWebhookEndpoints,
    ReplayWebhookDelivery,
    RotateWebhookSecret,
    SendTestWebhook,
    TestPayload,
    UpdateWebhookEndpoint,
    WebhookDeliveryPage,
    WebhookDeliveryView,
    WebhookEventType,
)
from provisioning import webhook_delivery
from provisioning.purchase_store import END_USER_INDEX
from provisioning.settings import ProvisioningSettings
from provisioning.store import ORDERS
from provisioning.webhook_endpoints import Endpoints, require_manager, require_own
from provisioning.webhook_store import (
    DELIVERIES,
    ENDPOINTS,
    Document,
    create_indexes,
    delivery_document,
    delivery_view,
    payload_subject,
    stored_subject,
)
from provisioning.webhook_urls import Resolver, resolve
from servicekit.clock import Clock, utcnow
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.restrictions import value_key
from servicekit.service import Service
from servicekit.vault import Vault, blind_field

TEST_EVENT = "webhook.test"
END_USER_KEYS_IN_END_USER = tuple(blind_field(name) for name in END_USER_INDEX)
"""The fields of an order's `end_user` that keep the blind indexes of email and reference."""


class Webhooks(Endpoints):
    """Endpoints plus the delivery log: test-send, list, replay, and enqueueing events."""

    def __init__(
        self,
        service: Service,
        settings: ProvisioningSettings,
        vault: Vault,
        clock: Clock,
        resolver: Resolver = resolve,
    ) -> None:
        super().__init__(service, settings, vault, clock, resolver)
        self.restrictions = service.restrictions

    async def send_test(
        self, query: SendTestWebhook, context: MessageContext
    ) -> WebhookDeliveryView:
        """Queue a `webhook.test` delivery to the endpoint, enabled or not."""
        require_manager(query.actor, query.partner_id)
        endpoint = await self.own_endpoint(query.partner_id, query.endpoint_id)
        body = self.body(TEST_EVENT, TestPayload(endpoint_id=endpoint["_id"]))
        key = f"test:{context.message_id}"
        return await self._insert_delivery(endpoint, TEST_EVENT, body, key)

    async def list_deliveries(
        self, query: ListWebhookDeliveries, _context: MessageContext
    ) -> WebhookDeliveryPage:
        """The partner's deliveries, newest first, filtered by endpoint and status."""
        require_own(query.actor, query.partner_id)
        criteria: dict[str, Any] = {"partner_id": query.partner_id}
        if query.endpoint_id is not None:
            criteria["endpoint_id"] = query.endpoint_id
        if query.status is not None:
            criteria["status"] = query.status
        if query.cursor is not None:
            criteria["_id"] = {"$lt": query.cursor}
        found = self.db[DELIVERIES].find(criteria).sort("_id", -1).limit(query.limit + 1)
        documents = await found.to_list()
        more = len(documents) > query.limit
        page = documents[: query.limit]
        return WebhookDeliveryPage(
            data=[delivery_view(d) for d in page], next_cursor=page[-1]["_id"] if more else None
        )

    async def replay(
        self, query: ReplayWebhookDelivery, context: MessageContext
    ) -> WebhookDeliveryView:
        """A new delivery of the same payload to the same endpoint, due now."""
        require_manager(query.actor, query.partner_id)
        original = await self.db[DELIVERIES].find_one(
            {"_id": query.delivery_id, "partner_id": query.partner_id}
        )
        if original is None:
            raise ServiceError("not_found", "no such webhook delivery")
        endpoint = await self.own_endpoint(query.partner_id, original["endpoint_id"])
        key = f"replay:{context.message_id}"
        return await self._insert_delivery(
            endpoint,
            original["event_type"],
            original["payload"],
            key,
            replay_of=original["_id"],
            subject=stored_subject(original),
        )

    async def enqueue(
        self, partner_id: str, event_type: WebhookEventType, payload: BaseModel, source_id: str
    ) -> list[str]:
        """A delivery to each enabled endpoint of the partner subscribed to `event_type`;
        idempotent on (`source_id`, endpoint). The ids of the deliveries; none when the
        payload is about an end user who restricted processing."""
        expected = PAYLOAD_MODELS[event_type]
        if not isinstance(payload, expected):
            raise ServiceError("invalid_request", f"{event_type} takes a {expected.__name__}")
        criteria = {"partner_id": partner_id, "status": "enabled", "event_types": event_type.value}
        endpoints = await self.db[ENDPOINTS].find(criteria).to_list()
        if not endpoints or await self._about_restricted_subject(partner_id, payload):
            return []
        body = self.body(event_type.value, payload)
        subject = payload_subject(payload)
        ids = []
        for endpoint in endpoints:
            key = f"{source_id}:{endpoint['_id']}"
            view = await self._insert_delivery(endpoint, event_type.value, body, key, None, subject)
            ids.append(view.id)
        return ids

    async def _about_restricted_subject(self, partner_id: str, payload: BaseModel) -> bool:
        """Whether the payload is about an end user who restricted processing or objected to
        it, for this partner's data (the register, `servicekit.restrictions`). The end user is
        found through the payload's order or top-up (its `order_id` as `_id`) and every
        purchase of its eSIMs (its `iccid` or `iccids`, and the purchase's), by email,
        reference or ICCID: a top-up of a restricted end user's eSIM, and orders placed after
        the restriction, are covered too."""
        order_id = getattr(payload, "order_id", None)
        iccid = getattr(payload, "iccid", None)
        iccids = {iccid} if isinstance(iccid, str) else set(getattr(payload, "iccids", None) or [])
        keys: set[str] = set()
        projection = {"end_user": 1, "iccids": 1}
        if isinstance(order_id, str):
            purchase = await self.db[ORDERS].find_one({"_id": order_id}, projection)
            if purchase is not None:
                keys |= _end_user_keys(purchase)
                iccids |= set(purchase.get("iccids", []))
        if iccids:  # nx: `$in` on indexed arrays
            found = self.db[ORDERS].find({"iccids": {"$in": sorted(iccids)}}, projection)
            async for purchase in found:
                keys |= _end_user_keys(purchase)
        keys |= {value_key("iccid", each) for each in iccids}
        flags = await self.restrictions.flags_of({}, partner_id, keys=keys)
        return flags.any

    def body(self, event_type: str, payload: BaseModel) -> str:
        """The JSON a delivery sends: `{"type", "timestamp", "data"}` (Standard Webhooks)."""
        stamp = self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        data = payload.model_dump(mode="json")
        return json.dumps({"type": event_type, "timestamp": stamp, "data": data})

    async def on_balance_low(self, event: BalanceLow, context: MessageContext) -> None:
        """Tell the partner's `balance.low` endpoints."""
        payload = BalanceLowPayload(balance=event.balance, threshold=event.threshold)
        await self.enqueue(
            event.partner_id, WebhookEventType.BALANCE_LOW, payload, context.message_id
        )

    async def _insert_delivery(
        self,
        endpoint: Document,
        event_type: str,
        payload: str,
        key: str,
        replay_of: str | None = None,
        subject: dict[str, str] | None = None,
    ) -> WebhookDeliveryView:
        document = delivery_document(
            delivery_id=new_id("msg"),
            partner_id=endpoint["partner_id"],
            endpoint_id=endpoint["_id"],
            event_type=event_type,
            payload=payload,
            key=key,
            now=self.now(),
            replay_of=replay_of,
            subject=subject,
        )
        try:
            await self.db[DELIVERIES].insert_one(document)
        except DuplicateKeyError:
            found = await self.db[DELIVERIES].find_one({"key": key})
            if found is None:
                raise
            document = found
        self.kick()
        return delivery_view(document)


def _end_user_keys(order: Document) -> set[str]:
    """The register keys of an order's end user: blind indexes of email and reference, and
    the ICCIDs of its eSIMs."""
    end_user = order.get("end_user") or {}
    keys = {end_user[name] for name in END_USER_KEYS_IN_END_USER if name in end_user}
    return keys | {value_key("iccid", iccid) for iccid in order.get("iccids", [])}


async def unconfigured(_query: Any, _context: MessageContext) -> Any:
    """Stands in for the handlers when MASTER_KEYS/BLIND_INDEX_KEY are not set."""
    raise ServiceError("unavailable", "webhooks are not configured on this platform")


def register(
    service: Service,
    settings: ProvisioningSettings,
    *,
    clock: Clock = utcnow,
    resolver: Resolver = resolve,
) -> Webhooks | None:
    """Answer the webhook queries, hear `accounts.balance_low.v1`, run the delivery worker.

    Without MASTER_KEYS and BLIND_INDEX_KEY the queries answer `unavailable` and nothing runs.
    """
    encryption = settings.encryption()
    handlers: dict[type[Any], Any] = {}
    webhooks = None
    if encryption is not None:
        vault = Vault.from_settings(service.db, encryption)
        webhooks = Webhooks(service, settings, vault, clock, resolver)
        handlers = _handlers(webhooks)
        worker = webhook_delivery.DeliveryWorker(service, settings, webhooks, clock)
        webhooks.kick = worker.kick
        service.startup.append(lambda: create_indexes(service.db))
        service.outbox.collections.append(ENDPOINTS)
        service.background.append(worker.run)
        service.router.on(BalanceLow, webhooks.on_balance_low)
    for query in _QUERIES:
        service.router.answer(query, handlers.get(query, unconfigured))
    return webhooks


_QUERIES: tuple[type[Any], ...] = (
    CreateWebhookEndpoint,
    ListWebhookEndpoints,
    GetWebhookEndpoint,
    UpdateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RotateWebhookSecret,
    SendTestWebhook,
    ListWebhookDeliveries,
    ReplayWebhookDelivery,
)


def _handlers(webhooks: Webhooks) -> dict[type[Any], Any]:
    return dict(
        zip(
            _QUERIES,
            (
                webhooks.create,
                webhooks.list_endpoints,
                webhooks.get,
                webhooks.update,
                webhooks.delete,
                webhooks.rotate,
                webhooks.send_test,
                webhooks.list_deliveries,
                webhooks.replay,
            ),
            strict=True,
        )
    )


async def enqueue_delivery(
    webhooks: Webhooks,
    partner_id: str,
    event_type: WebhookEventType,
    payload_model: BaseModel,
    *,
    source_id: str,
) -> list[str]:
    """For the order flow: queue `payload_model` as `event_type` to the partner's endpoints.

    `source_id` (e.g. the triggering message's id) makes a repeat change nothing. The payload
    must be the event type's model in `contracts.webhooks`: never activation codes, LPA
    strings or a restricted subject's data.
    """
    return await webhooks.enqueue(partner_id, event_type, payload_model, source_id)
