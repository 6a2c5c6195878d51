"""Orders through the partners' API over the real bus: the whole flow from the balance to the
provider and back, its failures with funds returned, idempotency, concurrency against one
balance, refusals that write nothing, and what reaches the provider."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from e2e_support import Platform
from orders_support import (
    PACKAGE,
    PACKAGE_PRICE,
    key_client,
    new_buyer,
    provider_faults,
    provider_requests,
)
from pymongo import AsyncMongoClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from support.processes import free_port
from support.waiting import eventually

Db = AsyncMongoClient[dict[str, Any]]


def steps(order: dict[str, Any]) -> list[str]:
    """The recorded steps of an order, in order."""
    return [t["step"] for t in sorted(order["transitions"], key=lambda t: t["at"])]


async def stored_orders(platform: Platform, db: Db, partner_id: str) -> list[dict[str, Any]]:
    """The partner's orders as provisioning stores them."""
    orders = db[platform.database("provisioning")]["orders"]
    return await orders.find({"partner_id": partner_id}).to_list()


async def test_order_completes_and_is_paid(platform: Platform, db: Db) -> None:
    """An order of two eSIMs completes at once (201), is debited, and reads back the same."""
    async with new_buyer(platform, db, 10_000) as buyer:
        body = {"package_id": PACKAGE, "quantity": 2}
        status, order = await buyer.order(body)
        assert status == 201, order
        assert order["status"] == "completed"
        assert len(order["iccids"]) == 2
        assert order["total"] == {"amount": 2 * PACKAGE_PRICE, "currency": "EUR"}
        assert steps(order) == ["created", "funds_reserved", "provider_done", "completed"]
        assert await buyer.balance() == 10_000 - 2 * PACKAGE_PRICE
        status, read = await buyer.get(f"/v1/orders/{order['id']}")
        assert (status, read) == (200, order)
        status, page = await buyer.get("/v1/orders?status=completed")
        assert [o["id"] for o in page["data"]] == [order["id"]]
        status, page = await buyer.get("/v1/orders?status=failed")
        assert page["data"] == []


async def test_end_user_data_is_sealed_and_not_sent_to_the_provider(
    platform: Platform, db: Db
) -> None:
    """The end user's email and reference come back to the partner, are stored only sealed,
    and never reach the provider."""
    email, reference = f"eu-{uuid.uuid4().hex[:8]}@example.com", f"ref-{uuid.uuid4().hex[:8]}"
    async with new_buyer(platform, db, 10_000) as buyer:
        body = {"package_id": PACKAGE, "end_user": {"email": email, "reference": reference}}
        status, order = await buyer.order(body)
        assert status == 201, order
        assert order["end_user"] == {"email": email, "reference": reference}
        [stored] = await stored_orders(platform, db, buyer.partner_id)
    assert email not in str(stored)
    assert reference not in str(stored)
    assert stored["end_user"]["email"].startswith("enc1.")
    sent = str(await provider_requests(platform))
    assert order["id"] in sent
    assert email not in sent
    assert reference not in sent


async def test_the_order_list_opens_each_orders_own_end_user(platform: Platform, db: Db) -> None:
    """A page of orders shows each order's own end user, and none where none was given."""
    end_users = [{"email": f"eu{n}-{uuid.uuid4().hex[:6]}@example.com"} for n in range(3)]
    async with new_buyer(platform, db, 10_000) as buyer:
        bought = []
        for end_user in [*end_users, None]:
            body = {"package_id": PACKAGE} | ({"end_user": end_user} if end_user else {})
            status, order = await buyer.order(body)
            assert status == 201, order
            bought.append(order["id"])
        status, page = await buyer.get("/v1/orders?limit=10")
    assert status == 200, page
    listed = {order["id"]: order.get("end_user") for order in page["data"]}
    expected = [{"email": eu["email"], "reference": None} for eu in end_users]
    assert [listed[order_id] for order_id in bought] == [*expected, None]


async def test_same_key_same_body_answers_the_original(platform: Platform, db: Db) -> None:
    """A retry with the same key and body gets the same order and pays nothing more."""
    async with new_buyer(platform, db, 10_000) as buyer:
        key, body = str(uuid.uuid4()), {"package_id": PACKAGE}
        first = await buyer.order(body, key)
        again = await buyer.order(body, key)
        assert first[0] == again[0] == 201
        assert again[1] == first[1]
        assert await buyer.balance() == 10_000 - PACKAGE_PRICE
        assert len(await stored_orders(platform, db, buyer.partner_id)) == 1


async def test_same_key_other_body_is_refused(platform: Platform, db: Db) -> None:
    """The same key with another body is a 409 `idempotency_conflict` that buys nothing."""
    async with new_buyer(platform, db, 10_000) as buyer:
        key = str(uuid.uuid4())
        assert (await buyer.order({"package_id": PACKAGE}, key))[0] == 201
        status, problem = await buyer.order({"package_id": PACKAGE, "quantity": 2}, key)
        assert (status, problem["code"]) == (409, "idempotency_conflict"), problem
        assert await buyer.balance() == 10_000 - PACKAGE_PRICE


async def test_retry_while_running_is_told_so(platform: Platform, db: Db) -> None:
    """While the first request with a key still runs, its retry gets 409
    `idempotency_in_progress`; one order is made."""
    async with (
        new_buyer(platform, db, 10_000) as buyer,
        provider_faults(platform, latency_min_ms=1500, latency_max_ms=1500),
    ):
        key, body = str(uuid.uuid4()), {"package_id": PACKAGE}
        first = asyncio.create_task(buyer.order(body, key))
        await asyncio.sleep(0.3)  # the first request is in the provider's hands by now
        status, problem = await buyer.order(body, key)
        assert (status, problem["code"]) == (409, "idempotency_in_progress"), problem
        assert (await first)[0] == 201
    assert len(await stored_orders(platform, db, buyer.partner_id)) == 1


async def test_insufficient_balance_fails_the_order(platform: Platform, db: Db) -> None:
    """An order the balance cannot pay fails with `insufficient_funds`; nothing is taken."""
    async with new_buyer(platform, db, PACKAGE_PRICE - 1) as buyer:
        status, order = await buyer.order({"package_id": PACKAGE})
        assert status == 201, order
        assert order["status"] == "failed"
        assert order["failure"]["reason"] == "insufficient_funds"
        assert order["failure"]["funds_returned"] is False
        assert order["iccids"] == []
        assert await buyer.balance() == PACKAGE_PRICE - 1


async def test_provider_failure_returns_the_funds(platform: Platform, db: Db) -> None:
    """A provider that keeps failing fails the order after the retries and returns the money."""
    async with new_buyer(platform, db, 10_000) as buyer:
        async with provider_faults(platform, failure_rate=1.0):
            status, order = await buyer.order({"package_id": PACKAGE})
            assert status in (201, 202), order
            order = await buyer.finished(f"/v1/orders/{order['id']}")
        assert order["status"] == "failed"
        assert order["failure"]["reason"] == "provider_unavailable"
        assert order["failure"]["funds_returned"] is True
        assert steps(order) == [
            "created",
            "funds_reserved",
            "provider_failed",
            "funds_returned",
            "failed",
        ]
        assert await buyer.balance() == 10_000


async def test_provider_timeout_returns_the_funds(platform: Platform, db: Db) -> None:
    """A provider that never answers in time fails the order with `provider_timeout` and the
    money comes back."""
    async with new_buyer(platform, db, 10_000) as buyer:
        async with provider_faults(platform, timeout_rate=1.0):
            _, order = await buyer.order({"package_id": PACKAGE})
            order = await buyer.finished(f"/v1/orders/{order['id']}")
        assert order["failure"]["reason"] == "provider_timeout"
        assert order["failure"]["funds_returned"] is True
        assert await buyer.balance() == 10_000


async def test_concurrent_orders_never_overdraw(platform: Platform, db: Db) -> None:
    """Six orders at once against a balance for three: three complete, three fail, and the
    balance ends at zero."""
    async with new_buyer(platform, db, 3 * PACKAGE_PRICE) as buyer:
        answers = await asyncio.gather(*(buyer.order({"package_id": PACKAGE}) for _ in range(6)))
        orders = [await buyer.finished(f"/v1/orders/{order['id']}") for _status, order in answers]
        outcomes = sorted(o["status"] for o in orders)
        assert outcomes == ["completed"] * 3 + ["failed"] * 3
        assert {o["failure"]["reason"] for o in orders if o["failure"]} == {"insufficient_funds"}
        assert await buyer.balance() == 0


async def test_bad_orders_are_refused_and_write_nothing(platform: Platform, db: Db) -> None:
    """Unknown or retired packages, quantities 0 and 51, a malformed email, a missing key or a
    price above the maximum are refused; no order is stored, no money moves."""
    async with new_buyer(platform, db, 10_000) as buyer:
        refusals = [
            ({"package_id": "pkg_nowhere_1gb_7d"}, 422, "unknown_package"),
            ({"package_id": "pkg_de_500mb_7d"}, 422, "package_unavailable"),
            ({"package_id": PACKAGE, "quantity": 0}, 422, "validation_failed"),
            ({"package_id": PACKAGE, "quantity": 51}, 422, "validation_failed"),
            (
                {"package_id": PACKAGE, "end_user": {"email": "not-an-email"}},
                422,
                "validation_failed",
            ),
            ({"package_id": PACKAGE, "colour": "red"}, 422, "validation_failed"),
            (
                {"package_id": PACKAGE, "max_total_price": {"amount": 100, "currency": "EUR"}},
                422,
                "price_above_maximum",
            ),
        ]
        for body, expected_status, code in refusals:
            status, problem = await buyer.order(body)
            assert (status, problem["code"]) == (expected_status, code), (body, problem)
        async with buyer.api.post("/v1/orders", json={"package_id": PACKAGE}) as response:
            problem = await response.json()
        assert (response.status, problem["code"]) == (400, "idempotency_key_required")
        assert await stored_orders(platform, db, buyer.partner_id) == []
        assert await buyer.balance() == 10_000


async def test_orders_are_the_partners_own(platform: Platform, db: Db) -> None:
    """Another partner's order is not found; a key without `orders:write` cannot buy."""
    async with new_buyer(platform, db, 10_000) as buyer, new_buyer(platform, db, 0) as other:
        _, order = await buyer.order({"package_id": PACKAGE})
        status, problem = await other.get(f"/v1/orders/{order['id']}")
        assert (status, problem["code"]) == (404, "not_found")
    async with key_client(platform, db, ["orders:read"]) as reader:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        async with reader.post("/v1/orders", json={"package_id": PACKAGE}, headers=headers) as r:
            problem = await r.json()
        assert (r.status, problem["code"]) == (403, "insufficient_scope")


async def test_topup_adds_to_an_esim(platform: Platform, db: Db) -> None:
    """A top-up of an eSIM is paid like an order and adds its package's data to the eSIM."""
    async with new_buyer(platform, db, 10_000) as buyer:
        _, order = await buyer.order({"package_id": PACKAGE})
        iccid = order["iccids"][0]
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        path = f"/v1/esims/{iccid}/topups"
        async with buyer.api.post(path, json={"package_id": PACKAGE}, headers=headers) as r:
            status, topup = r.status, await r.json()
        assert status == 201, topup
        assert (topup["status"], topup["iccid"]) == ("completed", iccid)
        assert await buyer.balance() == 10_000 - 2 * PACKAGE_PRICE
        status, listed = await buyer.get(path)
        assert [t["id"] for t in listed["data"]] == [topup["id"]]
        status, read = await buyer.get(f"/v1/topups/{topup['id']}")
        assert read == topup
        esims = db[platform.database("provisioning")]["esims"]
        stored = await esims.find_one({"_id": iccid})
    assert stored is not None
    assert stored["data_total_bytes"] == 2 * 1024**3
    assert stored["topups"] == [topup["id"]]


async def test_outcomes_arrive_as_signed_webhooks(platform: Platform, db: Db) -> None:
    """order.completed and order.failed reach the partner's endpoint signed per Standard
    Webhooks (verified with the library), without credentials; a replay of an old timestamp
    is refused by the same verification."""
    async with receiver() as (url, received), new_buyer(platform, db, PACKAGE_PRICE) as buyer:
        endpoint = {"url": url, "event_types": ["order.completed", "order.failed"]}
        async with buyer.api.post("/v1/webhook-endpoints", json=endpoint) as response:
            created = await response.json()
        assert response.status == 201, created
        hook = Webhook(created["secret"])
        _, completed = await buyer.order({"package_id": PACKAGE})
        _, failed = await buyer.order({"package_id": PACKAGE})
        assert failed["status"] == "failed"

        async def both_arrived() -> bool:
            return len(received) >= 2

        await eventually(both_arrived, timeout=20, what="two webhooks")
    events = {}
    for body, headers in received:
        payload = hook.verify(body, headers)
        events[payload["type"]] = payload["data"]
        assert "LPA:" not in body.decode()
    assert events["order.completed"]["order_id"] == completed["id"]
    assert events["order.completed"]["iccids"] == completed["iccids"]
    assert events["order.failed"] == {
        "order_id": failed["id"],
        "reason": "insufficient_funds",
        "failed_at": events["order.failed"]["failed_at"],
    }
    body, headers = received[0]
    stale = datetime.now(UTC) - timedelta(minutes=10)
    old = {**headers, "webhook-timestamp": str(int(stale.timestamp()))}
    old["webhook-signature"] = hook.sign(headers["webhook-id"], stale, body.decode())
    with pytest.raises(WebhookVerificationError):
        hook.verify(body, old)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """A partner's webhook receiver on loopback: its URL and what it received."""
    received: list[tuple[bytes, dict[str, str]]] = []

    async def take(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", take)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        await runner.cleanup()


async def test_a_key_that_may_only_buy_gets_its_answer(platform: Platform, db: Db) -> None:
    """A key with `orders:write` alone is answered with the order it made (here failed: its
    partner has no balance), not refused for lack of `orders:read`."""
    async with key_client(platform, db, ["orders:write"]) as writer:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        async with writer.post("/v1/orders", json={"package_id": PACKAGE}, headers=headers) as r:
            status, order = r.status, await r.json()
    assert status == 201, order
    assert order["failure"]["reason"] in ("insufficient_funds", "payment_refused")
