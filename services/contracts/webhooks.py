"""Webhook contracts: a partner's endpoints, the deliveries to them, and the payloads sent.

An endpoint's secret (`whsec_…`) crosses the wire once, in the reply to its creation or
rotation. Payloads never carry activation codes, LPA strings, or a restricted subject's data.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.accounts import Actor
from contracts.base import Event, Query, Reply, WireSecret
from contracts.money import Money

EndpointMode = Literal["live", "test"]

RETRY_SCHEDULE_MS: tuple[int, ...] = (
    5_000,
    30_000,
    120_000,
    600_000,
    1_800_000,
    3_600_000,
    10_800_000,
)
"""The published backoff: the wait before each retry (5 s, 30 s, 2 min, 10 min, 30 min, 1 h,
3 h), so a delivery gets at most 8 attempts over about 4 h 47 min."""


class WebhookEventType(StrEnum):
    """What a partner can subscribe an endpoint to."""

    ORDER_COMPLETED = "order.completed"
    ORDER_FAILED = "order.failed"
    ESIM_INSTALLED = "esim.installed"
    ESIM_USAGE_THRESHOLD = "esim.usage_threshold"
    ESIM_VALIDITY_ENDING = "esim.validity_ending"
    BALANCE_LOW = "balance.low"


DeliveryStatus = Literal["pending", "delivered", "failed", "exhausted"]

WebhookUrl = Annotated[
    str,
    StringConstraints(
        max_length=2000,
        pattern=r"^(?i:https?)://[^\s/?#\x00-\x1f\x7f]+(?:[/?#][^\s\x00-\x1f\x7f]*)?$",
    ),
]
"""An http(s) URL with a host and no control characters; where it may point is checked by
provisioning (SSRF rules)."""
EventTypes = Annotated[
    list[WebhookEventType], Field(min_length=1, max_length=len(WebhookEventType))
]


class WebhookEndpointView(Reply):
    """An endpoint as listings show it: never its secret."""

    TYPE: ClassVar[str] = "provisioning.webhook_endpoint.v1"

    id: str = Field(examples=["whe_01jb3k5x2v9q8r7t6s5p4n3m2k"])
    url: str = Field(examples=["https://partner.example/webhooks"])
    event_types: list[WebhookEventType]
    enabled: bool
    mode: EndpointMode = Field(description="The mode of the API key that created it.")
    created_at: datetime
    disabled_reason: str | None = Field(
        default=None, description="`failing` when the platform disabled it after failures."
    )
    secret_overlap_until: datetime | None = Field(
        default=None, description="After a rotation: until then, the old secret also signs."
    )


class NewWebhookSecret(Reply):
    """An endpoint just created or rotated: its secret, shown this once."""

    TYPE: ClassVar[str] = "provisioning.new_webhook_secret.v1"

    secret: WireSecret = Field(description="`whsec_` + base64; verify signatures with it.")
    endpoint: WebhookEndpointView


class WebhookEndpointPage(Reply):
    """A partner's endpoints, newest first."""

    TYPE: ClassVar[str] = "provisioning.webhook_endpoint_page.v1"

    data: list[WebhookEndpointView]


class WebhookDeliveryView(Reply):
    """One delivery (one event to one endpoint) and how its attempts went."""

    TYPE: ClassVar[str] = "provisioning.webhook_delivery.v1"

    id: str = Field(description="The `webhook-id` header, the same on every attempt.")
    endpoint_id: str
    event_type: str = Field(examples=["order.completed", "webhook.test"])
    status: DeliveryStatus
    attempts: int = Field(description="How many attempts were made so far.")
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_response_code: int | None = Field(
        default=None, description="HTTP status of the last attempt; absent if none answered."
    )
    last_latency_ms: int | None = None
    last_error: str | None = Field(
        default=None, description="`timeout`, `connection_error`, `refused_address`, `http_5xx`…"
    )
    replay_of: str | None = Field(default=None, description="The delivery this one replays.")


class WebhookDeliveryPage(Reply):
    """A page of deliveries, newest first."""

    TYPE: ClassVar[str] = "provisioning.webhook_delivery_page.v1"

    data: list[WebhookDeliveryView]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for more.")


class _WebhookQuery(Query):
    actor: Actor = Field(description="Who asks; a partner's actor acts for its own partner only.")
    partner_id: str = Field(max_length=64)


class CreateWebhookEndpoint(_WebhookQuery):
    """Create an endpoint; the reply carries its secret once."""

    TYPE: ClassVar[str] = "provisioning.create_webhook_endpoint.v1"

    url: WebhookUrl
    event_types: EventTypes
    mode: EndpointMode = Field(description="Live endpoints need https and a public address.")
    enabled: bool = True


class ListWebhookEndpoints(_WebhookQuery):
    """The partner's endpoints (at most 50 per partner exist)."""

    TYPE: ClassVar[str] = "provisioning.list_webhook_endpoints.v1"


class GetWebhookEndpoint(_WebhookQuery):
    """One of the partner's endpoints."""

    TYPE: ClassVar[str] = "provisioning.get_webhook_endpoint.v1"

    endpoint_id: str = Field(max_length=64)


class UpdateWebhookEndpoint(_WebhookQuery):
    """Change an endpoint's URL, event types or enabled flag (only those given)."""

    TYPE: ClassVar[str] = "provisioning.update_webhook_endpoint.v1"

    endpoint_id: str = Field(max_length=64)
    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = Field(default=None, description="Enabling resets the failure count.")


class DeleteWebhookEndpoint(_WebhookQuery):
    """Delete an endpoint; its pending deliveries are not sent."""

    TYPE: ClassVar[str] = "provisioning.delete_webhook_endpoint.v1"

    endpoint_id: str = Field(max_length=64)


class RotateWebhookSecret(_WebhookQuery):
    """A new secret; the old one also signs until the overlap (a setting) ends."""

    TYPE: ClassVar[str] = "provisioning.rotate_webhook_secret.v1"

    endpoint_id: str = Field(max_length=64)


class SendTestWebhook(_WebhookQuery):
    """Queue a `webhook.test` delivery to the endpoint now."""

    TYPE: ClassVar[str] = "provisioning.send_test_webhook.v1"

    endpoint_id: str = Field(max_length=64)


class ListWebhookDeliveries(_WebhookQuery):
    """The partner's deliveries, newest first, optionally of one endpoint or status."""

    TYPE: ClassVar[str] = "provisioning.list_webhook_deliveries.v1"

    endpoint_id: str | None = Field(default=None, max_length=64)
    status: DeliveryStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=64)


class ReplayWebhookDelivery(_WebhookQuery):
    """Send a delivery's payload again as a new delivery (a new `webhook-id`)."""

    TYPE: ClassVar[str] = "provisioning.replay_webhook_delivery.v1"

    delivery_id: str = Field(max_length=64)


class WebhookEndpointDisabled(Event):
    """The platform disabled an endpoint after consecutive exhausted deliveries; the partner
    is to be told (the notification itself is sent by whoever subscribes)."""

    TYPE: ClassVar[str] = "provisioning.webhook_endpoint_disabled.v1"

    partner_id: str
    endpoint_id: str
    consecutive_failures: int
    disabled_at: datetime


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderCompletedPayload(_Payload):
    """`order.completed`: the eSIM is ready. Never its activation code or LPA string."""

    order_id: str
    package_id: str
    quantity: int = Field(ge=1)
    iccids: list[str] = Field(description="The ICCIDs of the order's eSIMs.")
    total: Money
    completed_at: datetime


class OrderFailedPayload(_Payload):
    """`order.failed`: the order did not complete; any debit was refunded."""

    order_id: str
    reason: str = Field(examples=["provider_unavailable"])
    failed_at: datetime


class EsimInstalledPayload(_Payload):
    """`esim.installed`: the profile was installed on a device."""

    iccid: str
    order_id: str | None = None
    installed_at: datetime


class EsimUsageThresholdPayload(_Payload):
    """`esim.usage_threshold`: data use crossed 80 % or 100 % of the package."""

    iccid: str
    threshold_percent: Literal[80, 100]
    used_bytes: int = Field(ge=0)
    total_bytes: int = Field(ge=0)
    at: datetime


class EsimValidityEndingPayload(_Payload):
    """`esim.validity_ending`: the package's validity ends soon."""

    iccid: str
    ends_at: datetime


class BalanceLowPayload(_Payload):
    """`balance.low`: the prepaid balance fell below the partner's threshold."""

    balance: Money
    threshold: Money


class TestPayload(_Payload):
    """`webhook.test`: sent by a test-send; carries nothing of substance."""

    __test__ = False  # not a pytest class

    endpoint_id: str
    message: str = "This is a test webhook."


PAYLOAD_MODELS: dict[WebhookEventType, type[_Payload]] = {
    WebhookEventType.ORDER_COMPLETED: OrderCompletedPayload,
    WebhookEventType.ORDER_FAILED: OrderFailedPayload,
    WebhookEventType.ESIM_INSTALLED: EsimInstalledPayload,
    WebhookEventType.ESIM_USAGE_THRESHOLD: EsimUsageThresholdPayload,
    WebhookEventType.ESIM_VALIDITY_ENDING: EsimValidityEndingPayload,
    WebhookEventType.BALANCE_LOW: BalanceLowPayload,
}
"""The payload model of each event type: what `enqueue_delivery` checks a payload against."""
