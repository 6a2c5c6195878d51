"""The webhook routes: endpoints, the delivery log, test-send and replay (`webhooks:manage`).

Each asks provisioning as the calling key; the partner and the endpoint's mode (live or test)
come only from the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.accounts import Scope
from contracts.webhooks import (
    RETRY_SCHEDULE_MS,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    DeliveryStatus,
    EventTypes,
    GetWebhookEndpoint,
    ListWebhookDeliveries,
    ListWebhookEndpoints,
    NewWebhookSecret,
    ReplayWebhookDelivery,
    RotateWebhookSecret,
    SendTestWebhook,
    UpdateWebhookEndpoint,
    WebhookDeliveryPage,
    WebhookDeliveryView,
    WebhookEndpointPage,
    WebhookEndpointView,
    WebhookUrl,
)
from gateway.api import Call, Endpoint
from gateway.handlers import actor_of
from gateway.schemas import ApiModel
from servicekit.bus import Bus

TO = "provisioning"


def _duration(ms: int) -> str:
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min" if seconds < 3600 else f"{seconds // 3600} h"


def _schedule() -> str:
    return ", ".join(_duration(ms) for ms in RETRY_SCHEDULE_MS)


DELIVERY_RULES = (
    "Each delivery is a POST of `{type, timestamp, data}` signed per Standard Webhooks"
    " (`webhook-id`, `webhook-timestamp`, `webhook-signature`); verify it with your secret and"
    " reject timestamps older than 5 minutes. A 2xx within 10 s is success. Otherwise it is"
    f" retried after {_schedule()} (same `webhook-id`, fresh timestamp and signature); then it"
    " is `exhausted`. Five consecutive exhausted deliveries disable the endpoint. Live-mode"
    " URLs must be https to a public address; private, loopback and link-local addresses are"
    " refused. Payloads never carry activation codes or LPA strings."
)


class CreateWebhookEndpointBody(ApiModel):
    """A new endpoint; its mode is the mode of the calling key."""

    url: WebhookUrl = Field(examples=["https://partner.example/webhooks"])
    event_types: EventTypes = Field(examples=[["order.completed", "balance.low"]])
    enabled: bool = True


class UpdateWebhookEndpointBody(ApiModel):
    """The fields to change; absent ones stay as they are."""

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = Field(default=None, description="Enabling resets the failure count.")


class CreatedWebhookEndpoint(ApiModel):
    """An endpoint just created or rotated; `secret` is shown this once: store it now."""

    secret: str = Field(description="`whsec_` + base64: verify signatures with it.")
    endpoint: WebhookEndpointView


class DeliveriesQuery(ApiModel):
    """Filters and cursor pagination of the delivery log."""

    endpoint_id: str | None = Field(default=None, max_length=64)
    status: DeliveryStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=64)


def _created(reply: NewWebhookSecret) -> CreatedWebhookEndpoint:
    return CreatedWebhookEndpoint(secret=reply.secret.get_secret_value(), endpoint=reply.endpoint)


class WebhookHandlers:
    """Endpoint functions of `/v1/webhook-endpoints` and `/v1/webhook-deliveries`."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def create(self, call: Call) -> CreatedWebhookEndpoint:
        """A new endpoint; the secret is in this answer only."""
        body: CreateWebhookEndpointBody = call.body
        query = CreateWebhookEndpoint(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            url=body.url,
            event_types=body.event_types,
            enabled=body.enabled,
            mode=call.principal.mode,
        )
        reply = await self.bus.request(query, to=TO, reply=NewWebhookSecret, timeout=self.timeout)
        return _created(reply)

    async def list_endpoints(self, call: Call) -> WebhookEndpointPage:
        """The partner's endpoints."""
        query = ListWebhookEndpoints(actor=actor_of(call), partner_id=call.principal.partner_id)
        return await self.bus.request(query, to=TO, reply=WebhookEndpointPage, timeout=self.timeout)

    async def get(self, call: Call) -> WebhookEndpointView:
        """One endpoint."""
        query = GetWebhookEndpoint(
            actor=actor_of(call), partner_id=call.principal.partner_id, endpoint_id=call.path["id"]
        )
        return await self.bus.request(query, to=TO, reply=WebhookEndpointView, timeout=self.timeout)

    async def update(self, call: Call) -> WebhookEndpointView:
        """Change the fields sent."""
        body: UpdateWebhookEndpointBody = call.body
        query = UpdateWebhookEndpoint(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            endpoint_id=call.path["id"],
            url=body.url,
            event_types=body.event_types,
            enabled=body.enabled,
        )
        return await self.bus.request(query, to=TO, reply=WebhookEndpointView, timeout=self.timeout)

    async def delete(self, call: Call) -> WebhookEndpointView:
        """Delete the endpoint; answers it as it was."""
        query = DeleteWebhookEndpoint(
            actor=actor_of(call), partner_id=call.principal.partner_id, endpoint_id=call.path["id"]
        )
        return await self.bus.request(query, to=TO, reply=WebhookEndpointView, timeout=self.timeout)

    async def rotate(self, call: Call) -> CreatedWebhookEndpoint:
        """A new secret; the old one also signs until the overlap ends."""
        query = RotateWebhookSecret(
            actor=actor_of(call), partner_id=call.principal.partner_id, endpoint_id=call.path["id"]
        )
        reply = await self.bus.request(query, to=TO, reply=NewWebhookSecret, timeout=self.timeout)
        return _created(reply)

    async def send_test(self, call: Call) -> WebhookDeliveryView:
        """Queue a `webhook.test` delivery."""
        query = SendTestWebhook(
            actor=actor_of(call), partner_id=call.principal.partner_id, endpoint_id=call.path["id"]
        )
        return await self.bus.request(query, to=TO, reply=WebhookDeliveryView, timeout=self.timeout)

    async def list_deliveries(self, call: Call) -> WebhookDeliveryPage:
        """The delivery log, newest first."""
        asked: DeliveriesQuery = call.query
        query = ListWebhookDeliveries(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            endpoint_id=asked.endpoint_id,
            status=asked.status,
            limit=asked.limit,
            cursor=asked.cursor,
        )
        return await self.bus.request(query, to=TO, reply=WebhookDeliveryPage, timeout=self.timeout)

    async def replay(self, call: Call) -> WebhookDeliveryView:
        """Send a delivery's payload again, as a new delivery."""
        query = ReplayWebhookDelivery(
            actor=actor_of(call), partner_id=call.principal.partner_id, delivery_id=call.path["id"]
        )
        return await self.bus.request(query, to=TO, reply=WebhookDeliveryView, timeout=self.timeout)


def webhook_endpoints(handlers: WebhookHandlers) -> list[Endpoint]:
    """The webhook operations of the API map; all need `webhooks:manage`."""
    base = "/v1/webhook-endpoints"

    def endpoint(
        method: Literal["GET", "POST", "PATCH", "DELETE"],
        path: str,
        operation_id: str,
        summary: str,
        **options: object,
    ) -> Endpoint:
        return Endpoint(
            method,
            path,
            operation_id,
            summary,
            scope=Scope.WEBHOOKS_MANAGE,
            tags=["webhooks"],
            **options,  # type: ignore[arg-type]
        )

    return [
        endpoint("GET", base, "listWebhookEndpoints", "List your webhook endpoints",
                 function=handlers.list_endpoints, response=WebhookEndpointPage),
        endpoint("POST", base, "createWebhookEndpoint",
                 "Create a webhook endpoint; its secret is in this response only",
                 function=handlers.create, response=CreatedWebhookEndpoint,
                 body=CreateWebhookEndpointBody, status=201, conflicts=True,
                 description=DELIVERY_RULES),
        endpoint("GET", f"{base}/{{id}}", "getWebhookEndpoint", "Get a webhook endpoint",
                 function=handlers.get, response=WebhookEndpointView),
        endpoint("PATCH", f"{base}/{{id}}", "updateWebhookEndpoint",
                 "Change a webhook endpoint's URL, event types or enabled flag",
                 function=handlers.update, response=WebhookEndpointView,
                 body=UpdateWebhookEndpointBody),
        endpoint("DELETE", f"{base}/{{id}}", "deleteWebhookEndpoint",
                 "Delete a webhook endpoint", function=handlers.delete,
                 response=WebhookEndpointView),
        endpoint("POST", f"{base}/{{id}}/rotate-secret", "rotateWebhookSecret",
                 "Replace the endpoint's secret; the old one also signs for 24 h",
                 function=handlers.rotate, response=CreatedWebhookEndpoint, status=201,
                 conflicts=True),
        endpoint("POST", f"{base}/{{id}}/test", "sendTestWebhook",
                 "Send a `webhook.test` delivery to the endpoint",
                 function=handlers.send_test, response=WebhookDeliveryView, status=202),
        endpoint("GET", "/v1/webhook-deliveries", "listWebhookDeliveries",
                 "List webhook deliveries with their status, attempts, last response code"
                 " and latency", function=handlers.list_deliveries,
                 response=WebhookDeliveryPage, query=DeliveriesQuery),
        endpoint("POST", "/v1/webhook-deliveries/{id}/replay", "replayWebhookDelivery",
                 "Send a delivery's payload again, as a new delivery",
                 function=handlers.replay, response=WebhookDeliveryView, status=202),
    ]  # fmt: skip
