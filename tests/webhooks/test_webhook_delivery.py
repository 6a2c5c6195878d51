"""Delivering webhooks to a real receiver: signatures, retries, exhaustion and disabling,
rotation overlap, test-send, replay, and the balance-low event from accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks.webhooks
from standardwebhooks import Webhook, WebhookVerificationError
from webhook_support import (
    DISABLE_AFTER,
    KEY_A,
    PARTNER_A,
    PUBLIC_HOSTS,
    RETRY_DELAYS_MS,
    SLOW_SECONDS,
    Rig,
)

from contracts.ledger import BalanceLow
from contracts.money import Money
from contracts.privacy import SubjectRef
from contracts.webhooks import (
    GetWebhookEndpoint,
    ListWebhookDeliveries,
    OrderCompletedPayload,
    ReplayWebhookDelivery,
    RotateWebhookSecret,
    SendTestWebhook,
    UpdateWebhookEndpoint,
    WebhookDeliveryPage,
    WebhookDeliveryView,
    WebhookEndpointView,
    WebhookEventType,
)
from provisioning.store import ORDERS
from provisioning.webhook_store import ATTEMPTS
from provisioning.webhooks import enqueue_delivery
from support.restrictions import restriction_changed
from support.waiting import eventually

PRICE = Money(amount=1299, currency="EUR")


def order_completed(order_id: str = "ord_1") -> OrderCompletedPayload:
    """An order.completed payload."""
    return OrderCompletedPayload(
        order_id=order_id,
        package_id="pkg_de_1gb",
        quantity=1,
        iccids=["8944000000000000001"],
        total=PRICE,
        completed_at=datetime(2026, 11, 26, 12, tzinfo=UTC),
    )


async def enqueue(rig: Rig, source: str = "evt_1") -> str:
    """Queue an order.completed to partner A's endpoints; the one delivery id."""
    ids = await enqueue_delivery(
        rig.hooks, PARTNER_A, WebhookEventType.ORDER_COMPLETED, order_completed(), source_id=source
    )
    assert len(ids) == 1
    return ids[0]


async def test_receiver_verifies_the_signed_delivery(rig: Rig) -> None:
    """A delivery reaches the receiver signed so `standardwebhooks` verifies it, once."""
    await rig.create()
    delivery_id = await enqueue(rig)
    stored = await rig.settled(delivery_id)
    assert stored["status"] == "delivered"
    assert stored["last"]["code"] == 204
    [request] = rig.receiver.received
    assert request.verified
    assert request.headers["webhook-id"] == delivery_id
    body = json.loads(request.body)
    assert body["type"] == "order.completed"
    assert body["data"]["order_id"] == "ord_1"


async def test_enqueue_is_idempotent_on_its_source(rig: Rig) -> None:
    """Enqueuing the same source twice makes one delivery."""
    await rig.create()
    assert await enqueue(rig, "evt_same") == await enqueue(rig, "evt_same")


async def test_restricted_subjects_are_never_in_a_webhook(rig: Rig) -> None:
    """An order whose end user restricted processing (in the service's register, for this
    partner) is not sent in any webhook."""
    await rig.create()
    blind = rig.hooks.vault.blind_index
    email = "restricted.traveller@example.net"
    end_user = {"email_bidx": blind.of("email", email)}
    await rig.provisioning.db[ORDERS].insert_one(
        {"_id": "ord_restricted", "partner_id": PARTNER_A, "end_user": end_user}
    )
    subject = SubjectRef(email=email)
    flags = {"restricted": True}
    await rig.provisioning.restrictions.remember(
        restriction_changed(subject, blind, flags, scope=PARTNER_A)
    )
    assert (
        await enqueue_delivery(
            rig.hooks,
            PARTNER_A,
            WebhookEventType.ORDER_COMPLETED,
            order_completed("ord_restricted"),
            source_id="evt_r",
        )
        == []
    )
    assert await enqueue(rig, "evt_free")


async def test_enqueue_refuses_the_wrong_payload_model(rig: Rig) -> None:
    """A payload that is not its event type's model is refused before anything is written."""
    await rig.create()
    with pytest.raises(Exception, match="takes a EsimInstalledPayload"):
        await enqueue_delivery(
            rig.hooks, PARTNER_A, WebhookEventType.ESIM_INSTALLED, order_completed(), source_id="x"
        )
    page = await rig.ask(
        ListWebhookDeliveries(actor=KEY_A, partner_id=PARTNER_A), WebhookDeliveryPage
    )
    assert page.data == []


async def test_retries_keep_the_id_and_sign_afresh(rig: Rig) -> None:
    """A receiver that fails twice gets three attempts: one webhook-id, each one verified."""
    rig.receiver.failures = 2
    await rig.create()
    delivery_id = await enqueue(rig)
    stored = await rig.settled(delivery_id)
    assert stored["status"] == "delivered"
    assert stored["attempts"] == 3
    requests = rig.receiver.received
    assert [r.headers["webhook-id"] for r in requests] == [delivery_id] * 3
    assert all(r.verified for r in requests)
    attempts = await rig.provisioning.db[ATTEMPTS].find({"delivery_id": delivery_id}).to_list()
    assert sorted(a.get("code") for a in attempts) == [204, 500, 500]


async def test_a_slow_receiver_times_out_and_is_retried(rig: Rig) -> None:
    """An attempt that outlasts the timeout is recorded as `timeout` and retried."""
    rig.receiver.slow = 1
    await rig.create()
    delivery_id = await enqueue(rig)
    stored = await rig.settled(delivery_id)
    assert (stored["status"], stored["attempts"]) == ("delivered", 2)
    attempts = await rig.provisioning.db[ATTEMPTS].find({"delivery_id": delivery_id}).to_list()
    first = min(attempts, key=lambda attempt: attempt["number"])
    assert first["error"] == "timeout"
    assert "code" not in first
    assert first["latency_ms"] < SLOW_SECONDS * 1000


async def test_addresses_are_checked_again_at_delivery(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live host that resolves to loopback by delivery time is never contacted."""
    monkeypatch.setitem(PUBLIC_HOSTS, "rebind.example", ["93.184.215.16"])
    await rig.create(url="https://rebind.example/hook", mode="live")
    monkeypatch.setitem(PUBLIC_HOSTS, "rebind.example", ["127.0.0.1"])
    stored = await rig.settled(await enqueue(rig))
    assert stored["status"] == "exhausted"
    assert stored["last"]["error"] == "refused_address"
    assert rig.receiver.received == []


async def test_exhausted_deliveries_disable_the_endpoint(rig: Rig) -> None:
    """Consecutive exhausted deliveries disable the endpoint and announce it."""
    rig.receiver.failures = 1000
    created = await rig.create()
    first = await rig.settled(await enqueue(rig, "evt_a"))
    assert first["status"] == "exhausted"
    assert first["attempts"] == len(RETRY_DELAYS_MS) + 1
    assert len(rig.receiver.received) == len(RETRY_DELAYS_MS) + 1
    await rig.settled(await enqueue(rig, "evt_b"))
    await eventually(lambda: _async(rig.disabled), what="disabled event")
    [event] = rig.disabled
    assert event.endpoint_id == created.endpoint.id
    assert event.consecutive_failures == DISABLE_AFTER
    query = GetWebhookEndpoint(actor=KEY_A, partner_id=PARTNER_A, endpoint_id=event.endpoint_id)
    endpoint = await rig.ask(query, WebhookEndpointView)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "failing"
    assert (
        await enqueue_delivery(
            rig.hooks, PARTNER_A, WebhookEventType.ORDER_COMPLETED, order_completed(), source_id="c"
        )
        == []
    )


async def test_success_resets_the_failure_count(rig: Rig) -> None:
    """An exhausted delivery followed by a delivered one does not disable the endpoint."""
    created = await rig.create()
    rig.receiver.failures = len(RETRY_DELAYS_MS) + 1
    assert (await rig.settled(await enqueue(rig, "evt_a")))["status"] == "exhausted"
    assert (await rig.settled(await enqueue(rig, "evt_b")))["status"] == "delivered"
    rig.receiver.failures = 1000
    assert (await rig.settled(await enqueue(rig, "evt_c")))["status"] == "exhausted"
    query = GetWebhookEndpoint(actor=KEY_A, partner_id=PARTNER_A, endpoint_id=created.endpoint.id)
    assert (await rig.ask(query, WebhookEndpointView)).enabled


async def test_rotation_signs_with_both_secrets(rig: Rig) -> None:
    """During the overlap, a receiver with only the old or only the new secret verifies."""
    created = await rig.create()
    old = created.secret.get_secret_value()
    query = RotateWebhookSecret(actor=KEY_A, partner_id=PARTNER_A, endpoint_id=created.endpoint.id)
    rotated = await rig.ask(query, type(created))
    new = rotated.secret.get_secret_value()
    assert new != old
    assert rotated.endpoint.secret_overlap_until is not None
    await rig.settled(await enqueue(rig))
    [request] = rig.receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(request.body, request.headers)


async def test_a_captured_request_is_refused_later(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replaying a captured request after the tolerance fails the receiver's verification."""
    await rig.create()
    await rig.settled(await enqueue(rig))
    [request] = rig.receiver.received
    assert rig.receiver.verifies(request.body, request.headers)

    class Later(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Later:  # type: ignore[override]
            moment = datetime.now(UTC) + timedelta(minutes=6)
            return cls.fromtimestamp(moment.timestamp(), tz=UTC)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", Later)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(rig.receiver.secrets[0]).verify(request.body, request.headers)


async def test_test_send_reaches_a_disabled_endpoint(rig: Rig) -> None:
    """A test-send is delivered even to a disabled endpoint, as `webhook.test`."""
    created = await rig.create(enabled=False)
    endpoint_id = created.endpoint.id
    query = SendTestWebhook(actor=KEY_A, partner_id=PARTNER_A, endpoint_id=endpoint_id)
    sent = await rig.ask(query, WebhookDeliveryView)
    assert sent.event_type == "webhook.test"
    assert (await rig.settled(sent.id))["status"] == "delivered"
    body = json.loads(rig.receiver.received[0].body)
    assert body["type"] == "webhook.test"
    assert body["data"] == {
        "endpoint_id": endpoint_id,
        "message": "This is a test webhook.",
    }


async def test_replay_sends_the_payload_again(rig: Rig) -> None:
    """Replaying an exhausted delivery sends its payload as a new delivery."""
    rig.receiver.failures = len(RETRY_DELAYS_MS) + 1
    await rig.create()
    original = await enqueue(rig)
    assert (await rig.settled(original))["status"] == "exhausted"
    query = ReplayWebhookDelivery(actor=KEY_A, partner_id=PARTNER_A, delivery_id=original)
    replay = await rig.ask(query, WebhookDeliveryView)
    assert replay.replay_of == original
    assert replay.id != original
    assert (await rig.settled(replay.id))["status"] == "delivered"
    assert rig.receiver.received[-1].body == rig.receiver.received[0].body
    page = await rig.ask(
        ListWebhookDeliveries(actor=KEY_A, partner_id=PARTNER_A, status="delivered"),
        WebhookDeliveryPage,
    )
    assert rig.view_ids(page.data) == [replay.id]
    assert page.data[0].last_response_code == 204


async def test_disabled_endpoint_is_enabled_again(rig: Rig) -> None:
    """Enabling a disabled endpoint lets deliveries through again."""
    created = await rig.create(enabled=False)
    assert (
        await enqueue_delivery(
            rig.hooks, PARTNER_A, WebhookEventType.ORDER_COMPLETED, order_completed(), source_id="a"
        )
        == []
    )
    query = UpdateWebhookEndpoint(
        actor=KEY_A, partner_id=PARTNER_A, endpoint_id=created.endpoint.id, enabled=True
    )
    assert (await rig.ask(query, WebhookEndpointView)).enabled
    assert (await rig.settled(await enqueue(rig)))["status"] == "delivered"


async def test_balance_low_event_is_delivered(rig: Rig) -> None:
    """`accounts.balance_low.v1` on the bus becomes a verified `balance.low` webhook."""
    await rig.create()
    event = BalanceLow(
        partner_id=PARTNER_A, balance=Money(amount=500, currency="EUR"), threshold=PRICE
    )
    await rig.caller.bus.publish(event)

    async def delivered() -> bool:
        return any(r.verified for r in rig.receiver.received)

    await eventually(delivered, what="balance.low delivered")
    body = json.loads(rig.receiver.received[0].body)
    assert body["type"] == "balance.low"
    assert body["data"] == {
        "balance": {"amount": 500, "currency": "EUR"},
        "threshold": {"amount": 1299, "currency": "EUR"},
    }


async def _async(value: object) -> object:
    return value
